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
func startService(t *testing.T, owner net.HardwareAddr) *running {
	r := &running{link: &link{answers: make(chan takeover.Answer, 64), owner: owner}, mgr: takeover.NewFake(), log: &syncLog{}}
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

// The secondary holds the address at start and gives it back: its
// released and its silence after it make its MAC known. When it answers
// again while this host holds the address (it took over: it no longer
// hears this host), this host removes the address, and takes it back on
// the next released.
func TestServiceRemovesWhatTheSecondaryAnswersFor(t *testing.T) {
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
		if !strings.Contains(r.log.String(), "learnt the secondary's MAC") {
			t.Fatalf("the secondary's MAC was not learnt:\n%s", r.log)
		}
		r.link.setOwner(secondaryHW)
		time.Sleep(2100 * time.Millisecond) // a question at the slow pace
		synctest.Wait()
		if r.held() {
			t.Fatalf("kept an address the secondary answers for:\n%s", r.log)
		}
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], "the secondary's MAC") || !strings.Contains(n[0], "removed") {
			t.Fatalf("notices %q, want one saying the secondary's MAC answers and the address was removed", n)
		}
		time.Sleep(9 * time.Second) // waiting for the secondary: no notice within Patience
		if n := r.noticesSoFar(); len(n) != 1 {
			t.Fatalf("notices %q while the secondary holds the address", n)
		}
		time.Sleep(6 * time.Second) // it keeps the address past Patience (counted from the first claim after the removal)
		if n := r.noticesSoFar(); len(n) != 2 || !strings.Contains(n[1], "still answered by "+secondaryHW.String()+", the secondary's MAC") {
			t.Fatalf("notices %q, want a second saying the secondary keeps the address", n)
		}
		r.link.setOwner(nil)
		if err := r.ClaimReleased(context.Background()); err != nil || !r.held() {
			t.Fatalf("after the second released: held %v, err %v", r.held(), err)
		}
	})
}

// A host that answered before the released and goes on answering after
// it is not the one that let go: the address is kept, and the notice
// says why.
func TestServiceKeepsWhatAHostAnswersForAfterTheReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, strangerHW)
		defer r.stop()
		time.Sleep(time.Second)
		if err := r.ClaimReleased(context.Background()); err != nil || !r.held() {
			t.Fatalf("after released: held %v, err %v", r.held(), err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !r.held() {
			t.Fatal("removed on the answer of a host the released did not vouch for")
		}
		n := r.noticesSoFar()
		if len(n) != 1 || !strings.Contains(n[0], "again after it") {
			t.Fatalf("notices %q, want one saying it answered again after the released", n)
		}
		if strings.Contains(r.log.String(), "learnt the secondary's MAC") {
			t.Fatalf("learnt a MAC that went on answering:\n%s", r.log)
		}
	})
}
