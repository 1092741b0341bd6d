package monitor

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// A link's filter passes the subnet only while the address the primary's
// heartbeats come from there may be unknown: before the link's first
// heartbeat, after a new epoch from the primary's own address, and while
// the link is silent and another hears the primary. Otherwise it passes
// the primary's configured addresses and the one its heartbeats came
// from on the link (a host address, for a primary with service
// addresses).
func TestLinkFilterPassesTheSubnetOnlyUntilHeard(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	host := netip.MustParseAddr("198.51.100.11")      // the primary's host address, with service addresses
	stranger := netip.MustParseAddr("198.51.100.100") // the client
	const priv, pub = 2, 3
	passes := func(link string, a netip.Addr) bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range m.admittedLocked(link) {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	want := func(when string, link string, a netip.Addr, pass bool) {
		t.Helper()
		if got := passes(link, a); got != pass {
			t.Fatalf("%s: %s's filter passes %v: %v, want %v", when, link, a, got, pass)
		}
	}
	accept := func(epoch, seq uint64, ifindex int, from netip.Addr, at time.Time) {
		t.Helper()
		if _, ok := m.accept(packet(t, kr, epoch, seq, at), ifindex, from, at); !ok {
			t.Fatalf("epoch %d seq %d from %v dropped: %v", epoch, seq, from, m.Stats())
		}
	}

	for _, a := range []netip.Addr{primaryPriv, primaryPub, host, stranger} {
		want("at start", "pub0", a, true)
	}
	accept(7, 1, priv, primaryPriv, now)
	want("the private link heard", "priv0", stranger, false)
	want("the private link heard", "priv0", primaryPriv, true)
	want("the private link heard", "pub0", host, true)

	accept(7, 2, pub, host, now)
	want("the public link heard from the host address", "pub0", host, true)
	want("the public link heard from the host address", "pub0", primaryPub, true)
	want("the public link heard from the host address", "pub0", primaryPriv, true)
	want("the public link heard from the host address", "pub0", stranger, false)

	// heartbeatd started again: its host address may have changed.
	accept(8, 1, priv, primaryPriv, now)
	want("a new epoch", "pub0", stranger, true)
	accept(8, 2, pub, host, now)
	want("the new epoch on the public link", "pub0", stranger, false)

	// The public link goes silent while the private link hears the
	// primary (interval 1 s): after ten intervals it passes the subnet.
	accept(8, 3, priv, primaryPriv, now.Add(9*time.Second))
	want("the public link silent for 9 intervals", "pub0", stranger, false)
	accept(8, 4, priv, primaryPriv, now.Add(11*time.Second))
	want("the public link silent for 11 intervals", "pub0", stranger, true)
	accept(8, 5, pub, host, now.Add(11*time.Second))
	want("the public link heard again", "pub0", stranger, false)

	// A primary heard from its configured public address (host-address
	// mode) leaves nothing of the subnet passing.
	m2, _ := testMonitor(t, kr, false)
	m2.cfg.PeerNets = m.cfg.PeerNets
	m = m2
	accept(7, 1, priv, primaryPriv, now)
	accept(7, 2, pub, primaryPub, now)
	want("host-address mode", "pub0", host, false)
	want("host-address mode", "pub0", primaryPub, true)
}

// A packet from the subnet that does not name the sender and epoch heard
// from the primary's own addresses is dropped before its tag is checked:
// a flood of forged heartbeats from a client costs a decode each.
func TestSubnetJunkIsDroppedBeforeTheTagCheck(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	stranger := netip.MustParseAddr("198.51.100.100")
	forged := packet(t, key(t, "not the key, but long enough"), 7, 1, now)
	if _, ok := m.accept(forged, 3, stranger, now); ok {
		t.Fatal("a forged heartbeat from the subnet was accepted")
	}
	if d := m.Stats()["pub0"].Dropped; d[wire.DropWrongPeer] != 1 || d[wire.DropBadTag] != 0 {
		t.Fatalf("drops %v, want one wrong-peer (before the tag check)", d)
	}
	if _, ok := m.accept(packet(t, kr, 7, 1, now), 2, primaryPriv, now); !ok {
		t.Fatal("the primary's heartbeat was dropped")
	}
	// With the vouched sender and epoch, only the tag tells.
	if _, ok := m.accept(forged, 3, stranger, now); ok {
		t.Fatal("a forged heartbeat from the subnet was accepted")
	}
	if d := m.Stats()["pub0"].Dropped; d[wire.DropWrongPeer] != 1 || d[wire.DropBadTag] != 1 {
		t.Fatalf("drops %v, want one wrong-peer and one bad-tag", d)
	}
}

// admits says whether link's filter passes a.
func admits(m *Monitor, link string, a netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.admittedLocked(link) {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// A silent link's filter passes its subnet again only after more than
// ten of the primary's intervals; at exactly ten it is not yet silent.
func TestASilentLinkPassesItsSubnetAfterMoreThanTenIntervals(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	stranger := netip.MustParseAddr("198.51.100.100")
	for i, s := range []struct {
		ifindex int
		from    netip.Addr
		at      time.Duration
		open    bool // pub0 passes the subnet after it
	}{
		{3, primaryPub, 0, false},
		{2, primaryPriv, 0, false},
		{2, primaryPriv, 10 * time.Second, false},
		{2, primaryPriv, 10*time.Second + time.Nanosecond, true},
	} {
		at := now.Add(s.at)
		if _, ok := m.accept(packet(t, kr, 7, uint64(i+1), at), s.ifindex, s.from, at); !ok {
			t.Fatalf("heartbeat %d dropped: %v", i+1, m.Stats())
		}
		if got := admits(m, "pub0", stranger); got != s.open {
			t.Fatalf("pub0 silent for %v (interval 1 s): its filter passes the subnet: %v, want %v", s.at, got, s.open)
		}
	}
}

// The original's bare-text heartbeats name no epoch and say no interval:
// heard on the private link after the public one, they start no epoch,
// and no link counts as silent while another hears them, so the public
// link's filter, closed to its subnet once heard, stays closed. A legacy
// heartbeat's sender is its source address, so each one on the other
// link than the last looked like a new epoch, and the public link's
// filter passed the whole subnet after every private heartbeat.
func TestLegacyHeartbeatsReopenNoFilter(t *testing.T) {
	m, _ := testMonitor(t, wire.NewKeyring(), true)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	stranger := netip.MustParseAddr("198.51.100.100")
	for i, s := range []struct {
		ifindex int
		from    netip.Addr
		at      time.Duration
	}{
		{3, primaryPub, 0},
		{2, primaryPriv, time.Second},
		{2, primaryPriv, time.Hour},
	} {
		if h, ok := m.accept([]byte("heartbeat"), s.ifindex, s.from, now.Add(s.at)); !ok || !h.Legacy {
			t.Fatalf("legacy heartbeat %d: %v %+v", i+1, ok, h)
		}
		if admits(m, "pub0", stranger) {
			t.Fatalf("after legacy heartbeat %d (on pub0 at 0, on priv0 at %v), pub0's filter passes the subnet", i+1, s.at)
		}
	}
}

// A primary heard on a link from its host address and then from its own
// configured address there: the filter still passes the host address
// (its next heartbeat may come from either), and the configured one.
func TestTheHostAddressStaysAdmittedWhenTheOwnAddressIsHeard(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	host := netip.MustParseAddr("198.51.100.11")
	for i, s := range []struct {
		ifindex int
		from    netip.Addr
	}{{2, primaryPriv}, {3, host}, {3, primaryPub}} {
		if _, ok := m.accept(packet(t, kr, 7, uint64(i+1), now), s.ifindex, s.from, now); !ok {
			t.Fatalf("heartbeat %d from %v dropped: %v", i+1, s.from, m.Stats())
		}
	}
	for _, a := range []netip.Addr{host, primaryPub} {
		if !admits(m, "pub0", a) {
			t.Fatalf("pub0's filter no longer passes %v", a)
		}
	}
	if admits(m, "pub0", netip.MustParseAddr("198.51.100.100")) {
		t.Fatal("pub0's filter passes the subnet")
	}
}
