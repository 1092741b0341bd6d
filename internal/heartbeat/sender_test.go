package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

type sent struct {
	pkt     wire.Packet
	dst     netip.AddrPort
	ifindex int
	src     netip.Addr
}

// fakeConn records what would have been sent; a link in failing returns
// an error instead.
type fakeConn struct {
	mu      sync.Mutex
	keys    *wire.Keyring
	sent    []sent
	failing map[int]error
}

func (f *fakeConn) Send(b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failing[ifindex]; err != nil {
		return err
	}
	p, err := f.keys.Open(b)
	if err != nil {
		return err
	}
	f.sent = append(f.sent, sent{p, dst, ifindex, src})
	return nil
}

func (f *fakeConn) Close() error { return nil }

func (f *fakeConn) take() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.sent
	f.sent = nil
	return out
}

func (f *fakeConn) fail(ifindex int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[ifindex] = err
}

// The MACs of testHost's interfaces, from the range RFC 7042 sets aside
// for documentation.
const (
	privMAC = "00:00:5e:00:53:02"
	pubMAC  = "00:00:5e:00:53:03"
)

func testHost() []netif.Interface {
	mk := func(name string, idx int, p, mac string) netif.Interface {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			panic(err)
		}
		return netif.Interface{Name: name, Index: idx, Up: true, Running: true, MAC: hw, Addrs: []netif.Addr{netif.NewAddr(netip.MustParsePrefix(p))}}
	}
	return []netif.Interface{mk("priv0", 2, "192.0.2.1/24", privMAC), mk("pub0", 3, "198.51.100.1/24", pubMAC)}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// host is testHost's interfaces as a test changes them while the sender
// reads them.
type host struct {
	mu  sync.Mutex
	ifs []netif.Interface
}

// liveHost makes s read a host the test can change.
func liveHost(s *Sender) *host {
	h := &host{ifs: testHost()}
	s.snapshot = func() ([]netif.Interface, error) { return h.get(), nil }
	return h
}

func (h *host) get() []netif.Interface {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ifs)
}

func (h *host) set(f func(ifs []netif.Interface)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h.ifs)
}

func newTestSender(t *testing.T, key bool, host ...netif.Interface) (*Sender, *fakeConn, *syncBuf) {
	if host == nil {
		host = testHost()
	}
	kr := wire.NewKeyring()
	if key {
		k, err := wire.NewKey([]byte("0123456789abcdef0123"), "test")
		if err != nil {
			t.Fatal(err)
		}
		kr = wire.NewKeyring(k)
	}
	conn := &fakeConn{keys: kr, failing: map[int]error{}}
	logs := &syncBuf{}
	s, err := New(Options{
		Targets: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")},
		Port:    1694, Interval: 100 * time.Millisecond, Message: "heartbeat", Node: "server1", Keyring: kr,
	}, conn, func() ([]netif.Interface, error) { return host, nil }, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The fake clock of testing/synctest drives Go's timers only.
	s.ticker = fdtimer.NewGo
	return s, conn, logs
}

func TestBeatsEveryLinkFromItsOwnAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx, nil, 0) }()
		time.Sleep(350 * time.Millisecond) // beats at 0, 100, 200, 300 ms
		synctest.Wait()
		got := conn.take()
		if len(got) != 8 {
			t.Fatalf("sent %d packets in 4 intervals over 2 links, want 8", len(got))
		}
		for i, p := range got {
			wantIf, wantSrc, wantDst, wantMAC := 2, "192.0.2.1", "192.0.2.255:1694", privMAC
			if i%2 == 1 {
				wantIf, wantSrc, wantDst, wantMAC = 3, "198.51.100.1", "198.51.100.255:1694", pubMAC
			}
			if p.ifindex != wantIf || p.src.String() != wantSrc || p.dst.String() != wantDst {
				t.Errorf("packet %d went to %v via if %d from %v", i, p.dst, p.ifindex, p.src)
			}
			// Each link's packet says its own interface's MAC, signed
			// (the fake opens it with the key).
			if p.pkt.HardwareAddr.String() != wantMAC {
				t.Errorf("packet %d via if %d says MAC %q, want %s", i, p.ifindex, p.pkt.HardwareAddr, wantMAC)
			}
			if p.pkt.Type != wire.Heartbeat || p.pkt.Seq != uint64(i/2+1) || p.pkt.Interval != 100*time.Millisecond ||
				p.pkt.Epoch != s.Epoch() || !p.pkt.Authenticated || p.pkt.Sender != "server1" {
				t.Errorf("packet %d: %+v", i, p.pkt)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		bye := conn.take()
		if len(bye) != 2 || bye[0].pkt.Type != wire.Goodbye || bye[1].pkt.Type != wire.Goodbye || bye[0].pkt.Seq != 5 ||
			bye[0].pkt.HardwareAddr.String() != privMAC || bye[1].pkt.HardwareAddr.String() != pubMAC {
			t.Fatalf("on stop want goodbye on both links, each with its MAC, got %+v", bye)
		}
	})
}

func TestOneLinkFailingLogsOnceAndSparesTheOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, logs := newTestSender(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		conn.take()
		conn.fail(3, errors.New("network is down"))
		time.Sleep(1050 * time.Millisecond) // ten beats with pub0 failing
		synctest.Wait()
		got := conn.take()
		if len(got) != 10 {
			t.Fatalf("priv0 must keep beating: %d packets, want 10", len(got))
		}
		for _, p := range got {
			if p.ifindex != 2 {
				t.Fatalf("packet on if %d while it fails", p.ifindex)
			}
		}
		if n := strings.Count(logs.String(), "heartbeat send failed"); n != 1 {
			t.Fatalf("the failure must be logged once when it starts, got %d times:\n%s", n, logs)
		}
		if l := s.Targets()[1]; l.Err == nil || l.Route.Interface.Name != "pub0" {
			t.Fatalf("link state %+v", l)
		}
		conn.fail(3, nil)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if len(conn.take()) != 2 || !strings.Contains(logs.String(), "heartbeat send works again") || s.Targets()[1].Err != nil {
			t.Fatalf("recovery not seen:\n%s", logs)
		}
	})
}

func TestReloadChangesTargetsAndInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		conn.take()
		o := s.opts // Run reads it under the lock; no beat is due now
		o.Targets = o.Targets[:1]
		o.Interval = time.Second
		if err := s.Reload(o); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		got := conn.take()
		// one beat on reload, then at 1 s and 2 s; the epoch stays.
		if len(got) != 3 {
			t.Fatalf("%d packets after reload, want 3", len(got))
		}
		for _, p := range got {
			if p.dst.Addr().String() != "192.0.2.255" || p.pkt.Interval != time.Second || p.pkt.Epoch != s.Epoch() {
				t.Fatalf("after reload: %+v", p)
			}
		}
	})
}

// A target on no connected subnet (a unicast address behind a router)
// goes by the routing table, and its packet says no MAC: the router's
// reaches the peer, not ours.
func TestRemoteTargetFollowsTheRoutingTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, false, testHost()[0])
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		got := conn.take()
		if len(got) != 2 || got[1].dst.String() != "198.51.100.255:1694" || got[1].ifindex != 0 || got[1].src.IsValid() {
			t.Fatalf("sent %+v", got)
		}
		if got[0].pkt.HardwareAddr.String() != privMAC || got[1].pkt.HardwareAddr != nil {
			t.Fatalf("MACs %q on the link and %q behind the router, want %s and none", got[0].pkt.HardwareAddr, got[1].pkt.HardwareAddr, privMAC)
		}
	})
}

// A host on the link's subnet is reached from the link's MAC too; a
// link whose MAC changes (a bond's new active port) says the new one
// from the sender's next look at the interfaces.
func TestUnicastTargetAndChangedMAC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, true)
		host := liveHost(s)
		o := s.opts
		o.Targets = []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("198.51.100.2")}
		if err := s.Reload(o); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		got := conn.take()
		if len(got) == 0 {
			t.Fatal("nothing sent")
		}
		for _, p := range got {
			if want := map[int]string{2: privMAC, 3: pubMAC}[p.ifindex]; p.dst.Addr().As4()[3] != 2 || p.pkt.HardwareAddr.String() != want {
				t.Fatalf("to %v via if %d says MAC %q, want %s", p.dst, p.ifindex, p.pkt.HardwareAddr, want)
			}
		}
		const newMAC = "00:00:5e:00:53:04"
		host.set(func(ifs []netif.Interface) { ifs[1].MAC, _ = net.ParseMAC(newMAC) })
		time.Sleep(refreshEvery + 50*time.Millisecond)
		synctest.Wait()
		got = conn.take()
		if last := got[len(got)-1]; last.ifindex != 3 || last.pkt.HardwareAddr.String() != newMAC {
			t.Fatalf("a second after pub0's MAC changed its heartbeat says %q, want %s", last.pkt.HardwareAddr, newMAC)
		}
	})
}

// A pulled cable does not make sends fail; the sender sees the lost
// carrier on its next look at the interfaces, says so once, counts the
// link as failing (what it hands the kernel there goes nowhere), and
// says when it is back.
func TestLostCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, logs := newTestSender(t, false)
		host := liveHost(s)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		host.set(func(ifs []netif.Interface) { ifs[1].Running = false })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		failed := s.Targets()[1].Failed
		time.Sleep(time.Second)
		synctest.Wait()
		if l := s.Targets()[1]; l.Failed <= failed || l.Err == nil {
			t.Fatalf("link %+v: a link without carrier does not count as failing", l)
		}
		if n := strings.Count(logs.String(), "has no carrier"); n != 1 {
			t.Fatalf("no-carrier logged %d times:\n%s", n, logs)
		}
		host.set(func(ifs []netif.Interface) { ifs[1].Running = true })
		conn.take()
		// While a link is faulty the sender looks every 50 ms and beats
		// the moment it works: back within 50 ms, not at the next tick.
		time.Sleep(51 * time.Millisecond)
		synctest.Wait()
		if !slices.ContainsFunc(conn.take(), func(p sent) bool { return p.ifindex == 3 }) {
			t.Fatal("no heartbeat on the link within 50 ms of its carrier coming back")
		}
		if !strings.Contains(logs.String(), "heartbeat send works again") {
			t.Fatalf("recovery not logged:\n%s", logs)
		}
	})
}

// The watchdog sees the loop even when heartbeats are far apart.
func TestAliveBetweenBeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := newTestSender(t, false)
		o := s.opts
		o.Interval = 10 * time.Second
		if err := s.Reload(o); err != nil {
			t.Fatal(err)
		}
		<-s.changed
		var n atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, func() { n.Add(1) }, time.Second)
		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		if got := n.Load(); got != 6 { // at start, then each second
			t.Fatalf("alive called %d times in 5.5s, want 6", got)
		}
	})
}

func TestOptionsThatCannotBeEncodedAreRefused(t *testing.T) {
	s, _, _ := newTestSender(t, false)
	o := s.opts
	o.Message = "caf\xe9"
	if err := s.Reload(o); err == nil {
		t.Fatal("a message that is not UTF-8 was accepted")
	}
}

// Unhealthy goes out at once, with the check's words and whether the
// service addresses were given up; healthy again at once; a goodbye is
// never flagged.
func TestSetHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, true)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx, nil, 0) }()
		synctest.Wait()
		conn.take()
		time.Sleep(30 * time.Millisecond)
		s.SetHealth(false, "service checks fail: Check10.http: exit 22", true)
		synctest.Wait()
		got := conn.take()
		if len(got) != 2 {
			t.Fatalf("%d packets at once after SetHealth, want one per link", len(got))
		}
		for _, p := range got {
			if !p.pkt.Unhealthy || !p.pkt.Yielded || p.pkt.Message != "service checks fail: Check10.http: exit 22" {
				t.Fatalf("unhealthy heartbeat %+v", p.pkt)
			}
		}
		s.SetHealth(true, "", true)
		synctest.Wait()
		for _, p := range conn.take() {
			if p.pkt.Unhealthy || p.pkt.Yielded || p.pkt.Message != "heartbeat" {
				t.Fatalf("healthy heartbeat %+v", p.pkt)
			}
		}
		s.SetHealth(false, "service checks fail", false)
		cancel()
		<-done
		for _, p := range conn.take() {
			if p.pkt.Type == wire.Goodbye && (p.pkt.Unhealthy || p.pkt.Yielded) {
				t.Fatalf("goodbye flagged: %+v", p.pkt)
			}
		}
	})
}

// A link whose carrier comes back (Carrier reports it) is beaten on at
// once, not at the next tick nor the next look at a faulty link: a
// primary whose cable is back answers ARP at once, and failoverd gives it
// its addresses back only on a heartbeat.
func TestCarrierBackBeatsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, false)
		host := liveHost(s)
		back := make(chan string)
		s.Carrier = func(ctx context.Context, names []string, report func(string, bool)) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case n := <-back:
					report(n, true)
				}
			}
		}
		if err := s.Reload(Options{Targets: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")},
			Port: 1694, Interval: 10 * time.Second, Message: "heartbeat", Node: "server1", Keyring: wire.NewKeyring()}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		host.set(func(ifs []netif.Interface) { ifs[1].Running = false })
		time.Sleep(10 * time.Second) // a tick: the link is found dark
		synctest.Wait()
		host.set(func(ifs []netif.Interface) { ifs[1].Running = true })
		conn.take()
		back <- host.get()[1].Name
		synctest.Wait()
		if !slices.ContainsFunc(conn.take(), func(p sent) bool { return p.ifindex == host.get()[1].Index }) {
			t.Fatal("no heartbeat on the link the moment its carrier came back")
		}
	})
}

// A link the kernel keeps refusing although its interface looks usable
// (network unreachable) is tried again soon, then less and less often:
// not 20 times a second for as long as it lasts.
func TestUnreachableLinkRetriesBackOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, false)
		if err := s.Reload(Options{Targets: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")},
			Port: 1694, Interval: 10 * time.Second, Message: "heartbeat", Node: "server1", Keyring: wire.NewKeyring()}); err != nil {
			t.Fatal(err)
		}
		idx := s.Targets()[0].Route.Interface.Index
		conn.fail(idx, syscall.ENETUNREACH)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		conn.take()
		time.Sleep(9 * time.Second) // before the next tick
		synctest.Wait()
		tries := 0
		for _, p := range conn.take() {
			if p.ifindex != idx {
				tries++ // the other link gets each retry's beat too
			}
		}
		// 50, 100, 200 ... ms up to the interval: 7 retries in 9 s.
		if tries < 3 || tries > 8 {
			t.Fatalf("%d retry beats in 9 s on a link the kernel keeps refusing, want a few, backing off", tries)
		}
		conn.fail(idx, nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !slices.ContainsFunc(conn.take(), func(p sent) bool { return p.ifindex == idx }) {
			t.Fatal("the link was not beaten on again once the kernel took its packets")
		}
	})
}

// slowSender is a test sender that beats every 10 s, so that anything it
// sends between ticks comes from the fast path for faulty links.
func slowSender(t *testing.T) (*Sender, *fakeConn, *syncBuf, *host) {
	t.Helper()
	s, conn, logs := newTestSender(t, false)
	h := liveHost(s)
	o := s.opts
	o.Interval = 10 * time.Second
	if err := s.Reload(o); err != nil {
		t.Fatal(err)
	}
	<-s.changed // Run has not started: no beat is due for the reload
	return s, conn, logs, h
}

// sentOn counts the packets that went out of interface ifindex.
func sentOn(got []sent, ifindex int) int {
	n := 0
	for _, p := range got {
		if p.ifindex == ifindex {
			n++
		}
	}
	return n
}

// Failing service checks without giving the service addresses up (none
// held, or yielding off) say unhealthy and not yielded: failoverd takes
// over only what was given up.
func TestUnhealthyWithoutYieldingDoesNotSayYielded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, true)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		conn.take()
		s.SetHealth(false, "", false)
		synctest.Wait()
		got := conn.take()
		if len(got) != 2 {
			t.Fatalf("%d packets at once after SetHealth, want one per link", len(got))
		}
		for _, p := range got {
			if !p.pkt.Unhealthy || p.pkt.Yielded || p.pkt.Message != "service checks fail" {
				t.Fatalf("heartbeat %+v, want unhealthy, not yielded, saying the service checks fail", p.pkt)
			}
		}
	})
}

// A zero interval is refused, at start and on reload: a sender that
// never ticks looks alive and is silent.
func TestAZeroIntervalIsRefused(t *testing.T) {
	s, conn, _ := newTestSender(t, false)
	o := s.opts
	o.Interval = 0
	if _, err := New(o, conn, s.snapshot, s.log); err == nil {
		t.Fatal("New accepted a zero interval")
	}
	if err := s.Reload(o); err == nil {
		t.Fatal("Reload accepted a zero interval")
	}
}

// Interfaces lists the links heartbeats leave by: not the routing
// table's way to a target behind a router.
func TestInterfacesAreTheLinksOfTargetsOnASubnet(t *testing.T) {
	s, _, _ := newTestSender(t, false, testHost()[0]) // pub0's subnet is behind a router
	ifs := s.Interfaces()
	if len(ifs) != 1 || ifs[0].Name != "priv0" {
		t.Fatalf("Interfaces() = %+v, want priv0 alone", ifs)
	}
}

// The first target's heartbeat is signed and sent whatever its MAC,
// none included (a target behind a router, listed first).
func TestARemoteFirstTargetGetsItsHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, true, testHost()[0])
		o := s.opts
		o.Targets = []netip.Addr{netip.MustParseAddr("198.51.100.255"), netip.MustParseAddr("192.0.2.255")}
		if err := s.Reload(o); err != nil {
			t.Fatal(err)
		}
		<-s.changed // Run has not started: no beat is due for the reload
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		got := conn.take()
		if len(got) != 2 || got[0].ifindex != 0 || len(got[0].pkt.HardwareAddr) != 0 || got[1].pkt.HardwareAddr.String() != privMAC {
			t.Fatalf("sent %+v, want the remote target's heartbeat (no MAC) and priv0's", got)
		}
		if l := s.Targets()[0]; l.Err != nil || l.Sent != 1 {
			t.Fatalf("remote target %+v", l)
		}
	})
}

// Each target counts the heartbeats that went out and those that
// failed (heartbeatd's status shows them).
func TestTargetsCountSentAndFailedHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _ := newTestSender(t, false)
		conn.fail(3, errors.New("network is down"))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(350 * time.Millisecond) // beats at 0, 100, 200, 300 ms
		synctest.Wait()
		ls := s.Targets()
		if ls[0].Sent != 4 || ls[0].Failed != 0 || ls[1].Sent != 0 || ls[1].Failed != 4 {
			t.Fatalf("after 4 beats with pub0 failing: priv0 sent %d failed %d, pub0 sent %d failed %d; want 4/0 and 0/4",
				ls[0].Sent, ls[0].Failed, ls[1].Sent, ls[1].Failed)
		}
	})
}

// A link's failure is logged once with the link's name, and that it
// works again once, when it does: not while it fails, nor on every
// heartbeat after.
func TestALinkThatWorksAgainIsSaidOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, logs := newTestSender(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		conn.fail(3, errors.New("network is down"))
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		out := logs.String()
		if !strings.Contains(out, `msg="heartbeat send failed; will keep trying" link=pub0`) {
			t.Fatalf("the failure does not name the link:\n%s", out)
		}
		if strings.Contains(out, "works again") {
			t.Fatalf("said to work again while it fails:\n%s", out)
		}
		conn.fail(3, nil)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if out := logs.String(); strings.Count(out, "heartbeat send works again") != 1 || !strings.Contains(out, `msg="heartbeat send works again" link=pub0`) {
			t.Fatalf("want one line saying pub0 works again:\n%s", out)
		}
	})
}

// The goodbye is logged when it goes out, and only then.
func TestTheGoodbyeIsLoggedWhenItGoesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, logs := newTestSender(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx, nil, 0) }()
		time.Sleep(250 * time.Millisecond)
		synctest.Wait()
		if strings.Contains(logs.String(), "sent goodbye") {
			t.Fatalf("goodbye logged while beating:\n%s", logs)
		}
		cancel()
		<-done
		if out := logs.String(); strings.Count(out, "sent goodbye") != 1 || !strings.Contains(out, "links=2") {
			t.Fatalf("want one goodbye logged, on 2 links:\n%s", out)
		}
	})
}

// The link's MAC is said up to the longest failoverd asks for by ARP
// or NDP (InfiniBand's 20 bytes); a longer one is not said.
func TestTheLongestMACIsSaid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ifs := testHost()
		ifs[0].MAC = bytes.Repeat([]byte{0xa0}, wire.MaxHardwareAddrLen)
		ifs[1].MAC = bytes.Repeat([]byte{0xa1}, wire.MaxHardwareAddrLen+1)
		s, conn, _ := newTestSender(t, true, ifs...)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		synctest.Wait()
		got := conn.take()
		if len(got) != 2 || !bytes.Equal(got[0].pkt.HardwareAddr, ifs[0].MAC) || len(got[1].pkt.HardwareAddr) != 0 {
			t.Fatalf("sent %+v, want priv0's 20-byte MAC and none for pub0's 21 bytes", got)
		}
	})
}

// The links' carrier watch: one that cannot start is said once and
// tried again every second (a link back is then beaten on when the
// watch works); one the system does not have (ErrUnsupported) is
// neither said nor tried again.
func TestACarrierWatchThatFailsIsSaidOnceAndTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, logs := newTestSender(t, false)
		var calls atomic.Int32
		s.Carrier = func(ctx context.Context, _ []string, _ func(string, bool)) error {
			calls.Add(1)
			return errors.New("netlink: no buffer space")
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 4 {
			t.Fatalf("the watch was started %d times in 3.5 s, want at once and every second (4)", n)
		}
		if n := strings.Count(logs.String(), "cannot watch the links' carrier"); n != 1 {
			t.Fatalf("the failure was said %d times, want once:\n%s", n, logs)
		}
	})
}

func TestACarrierWatchTheSystemLacksIsNotTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, logs := newTestSender(t, false)
		var calls atomic.Int32
		s.Carrier = func(ctx context.Context, _ []string, _ func(string, bool)) error {
			calls.Add(1)
			return errors.ErrUnsupported
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx, nil, 0) }()
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		synctest.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("an unsupported watch was started %d times, want once", n)
		}
		if strings.Contains(logs.String(), "cannot watch") {
			t.Fatalf("an unsupported watch was logged as a failure:\n%s", logs)
		}
	})
}

// The watchdog's pings do not hold back the fast path: a link whose
// carrier comes back is beaten on within 50 ms however often alive is
// called.
func TestALinkBackIsBeatenOnAtOnceWhileTheWatchdogIsPingedOften(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _, h := slowSender(t)
		h.set(func(ifs []netif.Interface) { ifs[1].Running = false })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, func() {}, 10*time.Millisecond)
		time.Sleep(10 * time.Second) // a tick: pub0 is found without carrier
		synctest.Wait()
		if s.Targets()[1].Err == nil {
			t.Fatal("pub0 without carrier is not failing")
		}
		h.set(func(ifs []netif.Interface) { ifs[1].Running = true })
		conn.take()
		time.Sleep(60 * time.Millisecond)
		synctest.Wait()
		if sentOn(conn.take(), 3) == 0 {
			t.Fatal("no heartbeat on pub0 within 60 ms of its carrier coming back, with the watchdog pinged every 10 ms")
		}
	})
}

// Both links dark (both cables out): the one whose carrier comes back
// first is beaten on at once, not at the next tick.
func TestWithBothLinksDarkTheFirstBackIsBeatenOnAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _, h := slowSender(t)
		h.set(func(ifs []netif.Interface) { ifs[0].Running, ifs[1].Running = false, false })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(10 * time.Second) // a tick: both are found without carrier
		synctest.Wait()
		if ls := s.Targets(); ls[0].Err == nil || ls[1].Err == nil {
			t.Fatalf("links without carrier are not failing: %+v", ls)
		}
		time.Sleep(time.Second) // both stay dark a while
		synctest.Wait()
		h.set(func(ifs []netif.Interface) { ifs[1].Running = true })
		conn.take()
		time.Sleep(60 * time.Millisecond)
		synctest.Wait()
		if sentOn(conn.take(), 3) == 0 {
			t.Fatal("no heartbeat on pub0 within 60 ms of its carrier coming back while priv0 stays dark")
		}
	})
}

// A dark link is watched for its return, which does not make the
// links that work beat more often than the interval.
func TestADarkLinkDoesNotMakeTheOthersBeatMoreOften(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, conn, _, h := slowSender(t)
		h.set(func(ifs []netif.Interface) { ifs[1].Running = false })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(10 * time.Second) // a tick: pub0 is found without carrier
		synctest.Wait()
		conn.take()
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if n := sentOn(conn.take(), 2); n != 0 {
			t.Fatalf("%d heartbeats on priv0 between two ticks 10 s apart while pub0 is dark, want none", n)
		}
	})
}

// A healthy sender reads the interfaces at most once a second, however
// short the interval: other beats touch no netlink.
func TestAHealthySenderReadsTheInterfacesOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := newTestSender(t, false)
		var reads atomic.Int32
		s.snapshot = func() ([]netif.Interface, error) { reads.Add(1); return testHost(), nil }
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(10050 * time.Millisecond) // 101 beats at 100 ms
		synctest.Wait()
		if n := reads.Load(); n < 9 || n > 11 {
			t.Fatalf("the interfaces were read %d times in 10 s of beats every 100 ms, want about 10", n)
		}
	})
}

// A target's way out is logged (at debug level) when it changes, and
// not at every look at the interfaces.
func TestARouteIsLoggedWhenItChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := newTestSender(t, false)
		h := liveHost(s)
		logs := &syncBuf{}
		s.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if err := s.Reload(s.opts); err != nil { // the routes are found anew
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go s.Run(ctx, nil, 0)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := strings.Count(logs.String(), "msg=route"); n != 2 {
			t.Fatalf("%d route lines over 3 s of unchanged routes, want one per target at the reload:\n%s", n, logs)
		}
		h.set(func(ifs []netif.Interface) {
			ifs[1].Addrs = []netif.Addr{netif.NewAddr(netip.MustParsePrefix("198.51.100.7/24"))}
		})
		time.Sleep(time.Second)
		synctest.Wait()
		if out := logs.String(); strings.Count(out, "msg=route") != 3 || !strings.Contains(out, "link=pub0 src=198.51.100.7") {
			t.Fatalf("pub0's new source address is not logged once:\n%s", out)
		}
	})
}
