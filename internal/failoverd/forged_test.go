package failoverd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// forgeWorld is failoverd with a key, fed by the real monitor (in
// memory): the primary's signed heartbeats, and packets forged from its
// addresses by someone without its key.
type forgeWorld struct {
	t        *testing.T
	d        *Daemon
	mon      *monitor.Monitor
	in       *monitor.Inbox
	kr       *wire.Keyring
	ns       *notices
	seq      uint64
	recorded [][]byte
	ifindex  map[string]int
}

func newForgeWorld(t *testing.T, asker *fakeAsker) (*forgeWorld, func()) {
	k, err := wire.NewKey([]byte("a key of thirty-two bytes, fine."), "test")
	if err != nil {
		t.Fatal(err)
	}
	w := &forgeWorld{t: t, kr: wire.NewKeyring(k), in: monitor.NewInbox(), ns: &notices{}, ifindex: map[string]int{"priv0": 2, "pub0": 3}}
	w.mon = monitor.Fed(monitor.Config{Port: 1694, Links: links, Peers: []netip.Addr{senders["priv0"], senders["pub0"]},
		Keyring: func() *wire.Keyring { return w.kr },
		Snapshot: func() ([]netif.Interface, error) {
			return []netif.Interface{{Name: "priv0", Index: 2}, {Name: "pub0", Index: 3}}, nil
		}}, slog.New(slog.DiscardHandler), w.in)
	addr := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}
	deps := Deps{Source: w.mon, Mover: &takeover.Mover{Manager: takeover.NewFake()}, Hooks: newHooks(), Notifier: w.ns, Released: &peer{}, Clock: GoClock{}}
	if asker != nil {
		deps.Asker = asker
	}
	w.d = New(Config{Node: "server2", Peer: senders["priv0"], Addresses: []takeover.Address{addr}, Keys: func() *wire.Keyring { return w.kr },
		Machine: failover.Params{Links: links, AddrLinks: []string{"pub0"}, DeadCount: 3, DefaultInterval: interval, InitialGrace: timeout, HoldDown: holdDown, AutoGiveBack: true}},
		deps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.d.Run(ctx) }()
	return w, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// put sends b from the primary's address on every link.
func (w *forgeWorld) put(b []byte) {
	for _, l := range links {
		w.in.Put(monitor.Datagram{B: b, IfIndex: w.ifindex[l], From: senders[l]})
	}
}

// beat sends a heartbeat of the primary's, signed with the key, and
// records it.
func (w *forgeWorld) beat() {
	w.seq++
	p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 0xabc, Seq: w.seq, Interval: interval, SentAt: time.Now(), HardwareAddr: primaryHW}
	b, err := w.kr.Seal(&p)
	if err != nil {
		w.t.Fatal(err)
	}
	w.recorded = append(w.recorded, b)
	w.put(b)
}

// The ways forge sends a packet from the primary's addresses without its
// key.
const (
	forgeUnsigned = iota
	forgeOtherKey
	forgeReplay
	forgeJunk
	forgeKinds
)

// forge sends a packet of the kind i%forgeKinds from the primary's
// addresses: unsigned, signed with a key of its own (another each time),
// a replay of a recorded heartbeat, or junk.
func (w *forgeWorld) forge(i int) {
	p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 0xabc, Seq: 1 << 40, Interval: interval, SentAt: time.Now()}
	var b []byte
	switch i % forgeKinds {
	case forgeUnsigned:
		b, _ = wire.Encode(&p)
	case forgeOtherKey:
		k, err := wire.NewKey(fmt.Appendf(nil, "someone else's key number %06d", i), "x")
		if err != nil {
			w.t.Fatal(err)
		}
		b, _ = wire.NewKeyring(k).Seal(&p)
	case forgeReplay:
		b = []byte("junk")
		if len(w.recorded) > 0 {
			b = w.recorded[i%len(w.recorded)]
		}
	default:
		b = []byte("junk junk junk")
	}
	w.put(b)
}

func (w *forgeWorld) count(kind notice.Kind) int {
	n := 0
	for _, e := range w.ns.all() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// The primary's authenticated heartbeats arrive, and between them
// packets forged from its addresses by someone without its key (of
// every kind): nothing says the keys differ. No unauthenticated notice;
// status says the heartbeats are authenticated and tells the refused
// packets apart as what they may be, with no advice about keys; the
// links' standing and the metric are the heartbeats', not "refused".
// Before, one such packet made the notice ("give both servers the same
// key"), status "heard, but not authenticated … give both servers the
// same key" and the metric state="refused".
func TestForgedPacketsBesideTheHeartbeatsAreNoKeyMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, stop := newForgeWorld(t, nil)
		defer stop()
		for range 10 {
			w.beat()
			time.Sleep(interval)
		}
		for i := range 100 {
			w.beat()
			time.Sleep(interval / 2)
			w.forge(i)
			time.Sleep(interval / 2)
		}
		w.forge(forgeUnsigned)
		synctest.Wait()
		if s := w.d.State(); s != failover.Standby {
			t.Errorf("state %s, want standby", s)
		}
		if e, ok := w.ns.last(notice.Unauthenticated); ok {
			t.Errorf("an unauthenticated notice while every authenticated heartbeat arrives: %q", e.Detail)
		}
		st := w.d.Status()
		id := wire.FormatKeyID(w.kr.IDs()[0])
		beside := "packets from the primary's addresses that fail authentication beside its authenticated heartbeats (on priv0, pub0: key id " + id + " here, none in the packets (unsigned)): forged, replayed, or a second sender"
		if want := "authenticated with key id " + id + "; " + beside; st.Authentication != want {
			t.Errorf("status says\n%q\nwant\n%q", st.Authentication, want)
		}
		for _, l := range st.Links {
			if l.Auth == nil || l.Auth.State != wire.AuthAuthenticated {
				t.Errorf("status link %s: auth %+v, want that of its authenticated heartbeats", l.Name, l.Auth)
			}
			// The last packet refused on each link is unsigned.
			want := "packets from the primary's addresses that fail authentication beside its authenticated heartbeats (key id " + id + " here, none in the packets (unsigned)): forged, replayed, or a second sender"
			if !l.Refusing() || l.Refused != want {
				t.Errorf("status link %s: the packet refused last is\n%q\nwant\n%q", l.Name, l.Refused, want)
			}
		}
		m := NewMetrics(metrics.NewRegistry(), MetricsSources{Stats: w.mon.Stats, Keys: func() *wire.Keyring { return w.kr }, Heard: w.d.Heard})
		want := fmt.Sprintf(`
# HELP ipfailover_heartbeat_auth_info How the last packet from the primary on each link stood with the keys here (while its heartbeats are heard within the timeout, the last heartbeat: packets refused beside them count as bad-tag drops only): state authenticated (checked with a key here), unchecked (no key here) or refused (a key here, the packet not signed with it: dropped); the key ids here and in the packet (empty: none). Absent until a packet is heard.
# TYPE ipfailover_heartbeat_auth_info gauge
ipfailover_heartbeat_auth_info{key_here=%[1]q,key_in_packets=%[1]q,link="priv0",state="authenticated"} 1
ipfailover_heartbeat_auth_info{key_here=%[1]q,key_in_packets=%[1]q,link="pub0",state="authenticated"} 1
`, id)
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "ipfailover_heartbeat_auth_info"); err != nil {
			t.Error(err)
		}
	})
}

// The primary is dead, a stranger's MAC answers for its address, and
// packets that fail authentication keep coming from the primary's
// addresses: nobody can tell whether they are the primary's with another
// key or forged. The conflict notice and acquire's refusal say both,
// never that the primary is up, and neither suggests --force, saying
// why; the unauthenticated notice says that the heartbeats were
// authenticated before. Before, both said "the primary is up".
func TestForgedPacketsInAConflictDoNotSayThePrimaryIsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w, stop := newForgeWorld(t, a)
		defer stop()
		for range 10 {
			w.beat()
			time.Sleep(interval)
		}
		a.answering("02:00:00:00:00:66") // not the primary's MAC
		for i := range 1000 {
			w.forge(forgeKinds * i) // unsigned
			time.Sleep(2 * time.Millisecond)
		}
		synctest.Wait()
		if s := w.d.State(); s != failover.Conflict {
			t.Fatalf("state %s, want conflict; notices %v", s, w.ns.kinds())
		}
		says := "packets from the primary's addresses on priv0 and pub0 fail authentication (heard, but not authenticated: key id " +
			wire.FormatKeyID(w.kr.IDs()[0]) + " here, none in the packets (unsigned)): its key differs, or someone forges its address"
		why := "taking it by force is no way out while those packets come: if the primary sends them, it is up, and both hosts would answer"
		e, _ := w.ns.last(notice.Conflict)
		r := w.d.Handle(context.Background(), control.Request{Op: failover.OpAcquire})
		for what, text := range map[string]string{"conflict notice": e.Detail, "acquire's refusal": r.Error} {
			if !strings.Contains(text, says) || !strings.Contains(text, why) || strings.Contains(text, "the primary is up") || strings.Contains(text, "--force") {
				t.Errorf("%s: %q\nwant it to say %q and %q", what, text, says, why)
			}
		}
		if r.OK {
			t.Error("acquire went ahead while a stranger answers")
		}
		e, _ = w.ns.last(notice.Unauthenticated)
		if !strings.Contains(e.Detail, "after heartbeats authenticated here: the primary's key changed since, or someone forges its address") {
			t.Errorf("unauthenticated notice %q", e.Detail)
		}
	})
}

// Someone without the key sends one packet from the primary's addresses
// a little more than a minute apart, unsigned and signed by turns, for
// an hour, with the primary dead: a few unauthenticated notices at
// first, then none. Before, each packet more than a minute after the
// last mismatch sent one: 60 in the hour.
func TestAForgedPacketEachMinuteSetsNoRateOfNotices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, stop := newForgeWorld(t, nil)
		defer stop()
		for range 10 {
			w.beat()
			time.Sleep(interval)
		}
		var half int
		for i := range 60 {
			time.Sleep(61 * time.Second)
			w.forge(forgeKinds*i + i%2) // unsigned, then with a key of its own
			if i == 29 {
				synctest.Wait()
				half = w.count(notice.Unauthenticated)
			}
		}
		synctest.Wait()
		n := w.count(notice.Unauthenticated)
		t.Logf("%d unauthenticated notices from 60 forged packets in an hour, %d in the first half", n, half)
		if half == 0 || half > 6 || n != half {
			t.Errorf("%d unauthenticated notices from 60 forged packets in an hour, %d of them in the second half; want 1 to 6, none in the second half", n, n-half)
		}
	})
}

// How often one kind of mismatch is told, over days: a primary whose key
// differs, once however long it lasts; someone who spaces forged packets
// just beyond each quiet period, a dozen times at first and then once a
// day; after a day without one, at once.
func TestAMismatchIsToldLessOftenEachTime(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var a authSeen
	tell := func(at time.Time) bool {
		told := a.news(at)
		a.seen(at, told)
		return told
	}
	n := 0
	for s := range 3 * 86400 {
		if tell(t0.Add(time.Duration(s) * time.Second)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("one each second for three days: told %d times, want once", n)
	}
	// Each packet comes just after the quiet period the last one left.
	a = authSeen{}
	at, first, later := t0, 0, 0
	for end := t0.Add(10 * 24 * time.Hour); at.Before(end); at = at.Add(a.quiet + time.Second) {
		if !tell(at) {
			continue
		}
		if at.Before(t0.Add(48 * time.Hour)) {
			first++
		} else {
			later++
		}
	}
	t.Logf("told %d times in the first two days, %d in the eight after", first, later)
	if first > 13 || later > 8 {
		t.Errorf("a packet just after each quiet period: told %d times in the first two days and %d in the eight after, want at most 13 and 8", first, later)
	}
	if !tell(at.Add(authQuietMost + time.Second)) {
		t.Error("a mismatch after a day without one is not told")
	}
}
