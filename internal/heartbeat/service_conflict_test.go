package heartbeat

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// running is a Service under Run in a synctest bubble, with its log and
// notices kept.
type running struct {
	*Service
	link *link
	mgr  *takeover.Fake
	log  *syncLog

	mu      sync.Mutex
	notices []string
	stop    func()
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// startService runs a Service for one address at heartbeatd's pace with
// a 100 ms interval: questions 300 ms before an add, then every 100 ms
// for 300 ms, then every 2 s; a notice after 10 s of waiting.
func startService(t *testing.T, owner net.HardwareAddr, tune ...func(*Service)) *running {
	r := &running{link: &link{answers: make(chan neighbor.Answer, 64), owner: owner}, mgr: takeover.NewFake(), log: &syncLog{}}
	r.Service = &Service{
		Addrs: []takeover.Address{{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}},
		Mover: &takeover.Mover{Manager: r.mgr}, Asker: r.link,
		Wait: 300 * time.Millisecond, Retry: 2 * time.Second, Window: 300 * time.Millisecond, Patience: 10 * time.Second,
		Log: slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Notify: func(a takeover.Address, detail string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notices = append(r.notices, a.String()+": "+detail)
		},
	}
	for _, f := range tune {
		f(r.Service)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	return r
}

func (r *running) held() bool {
	h, _ := r.mgr.Held(context.Background(), r.Addrs)
	return len(h) == 1
}

func (r *running) noticesSoFar() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notices...)
}

// Two hosts add one service address at once (a third host with the same
// FAILOVER_SERVICE_IPS): the questions after the add hear the other, and
// this host says so: a log line and one notice naming its MAC. It keeps
// the address: an answer vouches for nobody.
func TestServiceNoticesAnotherHolderAfterItsAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil)
		defer r.stop()
		time.Sleep(350 * time.Millisecond)
		if !r.held() {
			t.Fatal("a free address was not added")
		}
		r.link.setOwner(strangerHW) // the other host added it too
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], strangerHW.String()) || !strings.Contains(n[0], "not known to be the secondary") ||
			!strings.Contains(n[0], "keeps the address") {
			t.Fatalf("notices %q, want one that names %s as not known to be the secondary's, and the address kept", n, strangerHW)
		}
		if !r.held() {
			t.Fatal("removed on an answer nothing vouched for")
		}
		if !strings.Contains(r.log.String(), "conflict: another host answers for a service address this host holds") {
			t.Fatalf("no conflict logged:\n%s", r.log)
		}
		time.Sleep(10 * time.Second) // it goes on answering
		if n := r.noticesSoFar(); len(n) != 1 {
			t.Fatalf("%d notices for one conflict", len(n))
		}
	})
}

// A host answers for the address before this host starts: the log says
// conflict, with its MAC, not known to be the secondary (not "waiting
// for the secondary's released"); a notice once it has answered for
// Patience, and one only.
func TestServiceSaysAnEarlierHolderIsNotKnownToBeTheSecondary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, strangerHW)
		defer r.stop()
		time.Sleep(time.Second)
		if r.held() {
			t.Fatal("added while another host answers")
		}
		out := r.log.String()
		if !strings.Contains(out, "conflict: another host answers for a service address; it is not known to be the secondary") ||
			!strings.Contains(out, "mac="+strangerHW.String()) || strings.Contains(out, "waiting for the secondary") {
			t.Fatalf("log:\n%s", out)
		}
		if n := r.noticesSoFar(); len(n) != 0 {
			t.Fatalf("noticed before Patience: %q", n)
		}
		time.Sleep(12 * time.Second)
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], strangerHW.String()) || !strings.Contains(n[0], "not known to be the secondary") {
			t.Fatalf("notices %q, want one naming %s", n, strangerHW)
		}
		time.Sleep(20 * time.Second)
		if n := r.noticesSoFar(); len(n) != 1 {
			t.Fatalf("%d notices for one holder", len(n))
		}
	})
}

// An answer takes nothing away, the secondary's signed holding does:
// the secondary holds the address at start and gives it back; when it
// answers again while this host holds the address (it took over: it did
// not hear this host), this host keeps the address and says so; on the
// secondary's holding it removes it, says so, waits for the secondary
// (noticed after Patience, naming its holding), and takes it back on
// the next released.
func TestServiceRemovesOnTheSecondarysHoldingOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, secondaryHW)
		defer r.stop()
		time.Sleep(time.Second)
		if r.held() {
			t.Fatal("added while the secondary answers")
		}
		r.link.setOwner(nil)
		if err := r.ClaimReleased(context.Background()); err != nil || !r.held() {
			t.Fatalf("after released: held %v, err %v", r.held(), err)
		}
		time.Sleep(time.Second)
		r.link.setOwner(secondaryHW)
		time.Sleep(2100 * time.Millisecond) // a question at the slow pace
		synctest.Wait()
		if !r.held() {
			t.Fatalf("removed an address on an answer:\n%s", r.log)
		}
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], "not known to be the secondary") || !strings.Contains(n[0], "keeps the address") {
			t.Fatalf("notices %q, want one saying another host answers and the address is kept", n)
		}

		if err := r.SecondaryHolds(context.Background()); err != nil || r.held() {
			t.Fatalf("after the secondary's holding: held %v, err %v", r.held(), err)
		}
		n = r.noticesSoFar()
		if len(n) != 2 || !strings.Contains(n[1], "held by the secondary too: it said so in a signed holding") || !strings.Contains(n[1], "removed") {
			t.Fatalf("notices %q, want a second saying the secondary's holding removed the address", n)
		}
		if !strings.Contains(r.log.String(), "conflict: the secondary says it holds a service address this host held") {
			t.Fatalf("the removal was not logged:\n%s", r.log)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if r.held() {
			t.Fatal("added again while the secondary answers")
		}
		if !strings.Contains(r.log.String(), "the secondary says it holds the service addresses (its signed holding); waiting for its released") {
			t.Fatalf("the wait does not say the secondary holds the address:\n%s", r.log)
		}
		if err := r.SecondaryHolds(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second) // within Patience: no notice
		if n := r.noticesSoFar(); len(n) != 2 {
			t.Fatalf("notices %q while the secondary holds the address", n)
		}
		time.Sleep(3 * time.Second) // it keeps the address past Patience
		if n := r.noticesSoFar(); len(n) != 3 || !strings.Contains(n[2], "still answered by "+secondaryHW.String()+", and the secondary said it holds") {
			t.Fatalf("notices %q, want a third saying the secondary keeps the address", n)
		}
		r.link.setOwner(nil)
		if err := r.ClaimReleased(context.Background()); err != nil || !r.held() {
			t.Fatalf("after the second released: held %v, err %v", r.held(), err)
		}
	})
}

// A holding the secondary did not mean (replayed within the run it
// names, or sent just as it gave the address back) costs one round of
// questions: nobody answers, and the address is added again.
func TestServiceAddsAgainAfterAHoldingNobodyBacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil)
		defer r.stop()
		time.Sleep(time.Second)
		if !r.held() {
			t.Fatal("a free address was not added")
		}
		removed := time.Now()
		if err := r.SecondaryHolds(context.Background()); err != nil || r.held() {
			t.Fatalf("after holding: held %v, err %v", r.held(), err)
		}
		for !r.held() {
			if time.Since(removed) > 2*time.Second {
				t.Fatalf("not added again %v after a holding nobody backs:\n%s", time.Since(removed), r.log)
			}
			time.Sleep(time.Millisecond)
		}
		// A third of Wait to the round, Wait of questions, and this
		// loop's millisecond.
		if took, want := time.Since(removed), r.Wait/3+r.Wait+time.Millisecond; took > want {
			t.Fatalf("added again %v after the removal, want within one round (%v)", took, want)
		}
	})
}

// A released is the secondary's word that it let go, not proof that
// nobody answers: heartbeatd asks three times over ReleasedWait first and
// adds nothing while another host answers (a released replayed while the
// secondary holds the address, or one from an older failoverd that
// names no epoch); once nobody answers, its usual round adds it.
func TestServiceClaimReleasedAsksFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, secondaryHW, func(s *Service) { s.ReleasedWait = 2 * time.Millisecond })
		defer r.stop()
		time.Sleep(time.Second)
		asked, start := r.link.questions(), time.Now()
		if err := r.ClaimReleased(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took, q := time.Since(start), r.link.questions()-asked; took != 2*time.Millisecond || q != 3 {
			t.Fatalf("ClaimReleased took %v and asked %d questions, want 3 over 2ms", took, q)
		}
		synctest.Wait()
		if r.held() {
			t.Fatal("added after a released while the secondary still answers: two owners")
		}
		if !strings.Contains(r.log.String(), "the secondary said released, but another host answers for a service address") {
			t.Fatalf("log:\n%s", r.log)
		}
		r.link.setOwner(nil)
		time.Sleep(2*time.Second + 300*time.Millisecond) // the next round
		if !r.held() {
			t.Fatalf("not added once nobody answers:\n%s", r.log)
		}
	})
}

// Attack (public link, no key; found by an adversary's review): while
// the secondary holds the service address after a takeover, an attacker
// sends ARP replies for it from its own MAC every 10 ms, and stops when
// heartbeatd adds the address. The MAC heard last before the secondary's
// released is then the attacker's. Before, heartbeatd took that MAC for
// the secondary's, and one forged reply from it afterwards made
// heartbeatd remove the address it held: an answer vouches for nobody,
// and now takes nothing away.
func TestServiceAnAttackerAnsweringAroundTheReleasedCannotHaveTheAddressRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, secondaryHW)
		defer r.stop()
		forge := func() {
			r.link.answers <- neighbor.Answer{At: time.Now(), Addr: r.Addrs[0].Addr(), Interface: "pub0", MAC: strangerHW}
			synctest.Wait()
		}
		for range 100 { // the secondary holds it; the attacker answers too
			time.Sleep(10 * time.Millisecond)
			forge()
		}
		if r.held() {
			t.Fatal("added while the secondary answers")
		}
		r.link.setOwner(nil) // the secondary gives back
		time.Sleep(5 * time.Millisecond)
		forge() // the attacker's last reply before the released
		if err := r.ClaimReleased(context.Background()); err != nil || !r.held() {
			t.Fatalf("after released: held %v, err %v", r.held(), err)
		}
		time.Sleep(time.Second) // the attacker is silent now
		synctest.Wait()
		forge() // one forged ARP reply
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if !r.held() {
			t.Fatalf("one forged ARP reply made heartbeatd remove its service address; notices %q", r.noticesSoFar())
		}
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], strangerHW.String()) || !strings.Contains(n[0], "keeps the address") {
			t.Fatalf("notices %q, want one naming the attacker's MAC, the address kept", n)
		}
	})
}
