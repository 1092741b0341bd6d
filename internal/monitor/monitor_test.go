package monitor

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

var (
	primaryPriv = netip.MustParseAddr("192.0.2.1")
	primaryPub  = netip.MustParseAddr("198.51.100.1")
	now         = time.Unix(1_800_000_000, 0)
)

func testMonitor(t *testing.T, keys *wire.Keyring, legacy bool) (*Monitor, *bytes.Buffer) {
	var logs bytes.Buffer
	m := newMonitor(Config{
		Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
		Keyring: func() *wire.Keyring { return keys }, Legacy: legacy,
		Snapshot: func() ([]netif.Interface, error) {
			return []netif.Interface{{Name: "priv0", Index: 2}, {Name: "pub0", Index: 3}, {Name: "eth9", Index: 4}}, nil
		},
	}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return m, &logs
}

func key(t *testing.T, secret string) *wire.Keyring {
	k, err := wire.NewKey([]byte(secret), "test")
	if err != nil {
		t.Fatal(err)
	}
	return wire.NewKeyring(k)
}

func packet(t *testing.T, kr *wire.Keyring, epoch, seq uint64, sent time.Time) []byte {
	p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: epoch, Seq: seq, Interval: time.Second, SentAt: sent}
	b, err := kr.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAcceptAndDropReasons(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, logs := testMonitor(t, kr, false)
	good := packet(t, kr, 1, 1, now)
	steps := []struct {
		b       []byte
		ifindex int
		from    netip.Addr
		ok      bool
		link    string
		reason  wire.DropReason
	}{
		{good, 2, primaryPriv, true, "priv0", ""},
		{packet(t, kr, 1, 1, now), 3, primaryPub, true, "pub0", ""}, // same round on the other link
		{good, 2, primaryPriv, false, "priv0", wire.DropReplay},
		{packet(t, kr, 1, 2, now), 4, primaryPriv, false, Unknown, wire.DropUnknownLink},
		{packet(t, kr, 1, 2, now), 2, netip.MustParseAddr("192.0.2.99"), false, "priv0", wire.DropWrongPeer},
		{[]byte("garbage"), 2, primaryPriv, false, "priv0", wire.DropMalformed},
		{packet(t, wire.NewKeyring(), 1, 3, now), 2, primaryPriv, false, "priv0", wire.DropBadTag},
		{packet(t, key(t, "another key of 20 b"), 1, 3, now), 2, primaryPriv, false, "priv0", wire.DropBadTag},
		{packet(t, kr, 2, 1, now.Add(-time.Hour)), 2, primaryPriv, false, "priv0", wire.DropStaleEpoch},
		{packet(t, kr, 1, 5, now), 2, primaryPriv, true, "priv0", ""},
	}
	for i, s := range steps {
		h, ok := m.accept(s.b, s.ifindex, s.from, now)
		if ok != s.ok {
			t.Fatalf("step %d: accepted %v, want %v", i, ok, s.ok)
		}
		if ok && (h.Link != s.link || h.From != s.from || h.Packet.Seq == 0) {
			t.Fatalf("step %d: %+v", i, h)
		}
	}
	st := m.Stats()
	if st["priv0"].Received != 2 || st["pub0"].Received != 1 {
		t.Errorf("received: priv0 %d pub0 %d", st["priv0"].Received, st["pub0"].Received)
	}
	want := map[wire.DropReason]uint64{wire.DropReplay: 1, wire.DropWrongPeer: 1, wire.DropMalformed: 1, wire.DropBadTag: 2, wire.DropStaleEpoch: 1}
	for r, n := range want {
		if st["priv0"].Dropped[r] != n {
			t.Errorf("priv0 dropped %s: %d, want %d", r, st["priv0"].Dropped[r], n)
		}
	}
	if st[Unknown].Dropped[wire.DropUnknownLink] != 1 {
		t.Errorf("unknown-link drops %v", st[Unknown].Dropped)
	}
	if st["priv0"].Epoch != 1 || st["priv0"].Interval != time.Second || st["priv0"].Sender != "server1" {
		t.Errorf("peer details %+v", st["priv0"])
	}
	// The first drop of each reason is a warning; repeats are debug.
	if n := strings.Count(logs.String(), "level=WARN msg=\"dropped packet\" link=priv0 reason=bad-tag"); n != 1 {
		t.Errorf("bad-tag warned %d times:\n%s", n, logs)
	}
}

// The attack of a cut public cable: server1's signed heartbeats, recorded
// on the private link, replayed on the public link once server1 is dead,
// must not keep the public link alive.
func TestCrossLinkReplayIsRefused(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	var recorded [][]byte
	for seq := uint64(1); seq <= 5; seq++ {
		sent := now.Add(time.Duration(seq) * 100 * time.Millisecond)
		b := packet(t, kr, 1, seq, sent)
		if _, ok := m.accept(b, 2, primaryPriv, sent.Add(time.Millisecond)); !ok {
			t.Fatalf("heartbeat %d refused on priv0", seq)
		}
		recorded = append(recorded, b)
	}
	later := now.Add(2 * time.Second)
	for i, b := range recorded {
		if _, ok := m.accept(b, 3, primaryPriv, later.Add(time.Duration(i)*100*time.Millisecond)); ok {
			t.Fatalf("recorded heartbeat %d accepted on pub0 later", i+1)
		}
	}
	if d := m.Stats()["pub0"].Dropped[wire.DropReplay]; d != uint64(len(recorded)) {
		t.Fatalf("pub0 replay drops %d, want %d", d, len(recorded))
	}
	if m.Stats()["pub0"].Received != 0 {
		t.Fatal("pub0 counted a replay as heard")
	}
}

func TestLegacyBareText(t *testing.T) {
	m, _ := testMonitor(t, wire.NewKeyring(), true)
	h, ok := m.accept([]byte("heartbeat\x00"), 2, primaryPriv, now)
	if !ok || !h.Legacy || h.Link != "priv0" || h.Packet.Interval != 0 {
		t.Fatalf("legacy heartbeat: %v %+v", ok, h)
	}
	if _, ok := m.accept([]byte("something else"), 2, primaryPriv, now); ok {
		t.Fatal("other bare text accepted")
	}
	// Without --legacy, bare text is malformed.
	m, _ = testMonitor(t, wire.NewKeyring(), false)
	if _, ok := m.accept([]byte("heartbeat"), 2, primaryPriv, now); ok || m.Stats()["priv0"].Dropped[wire.DropMalformed] != 1 {
		t.Fatal("legacy text accepted without --legacy")
	}
}

// FuzzAccept: whatever arrives, an accepted packet came from a
// configured peer on a configured link (the one its interface maps to),
// a replay of it is not accepted again, and every packet is counted
// exactly once: as received on its link or as one drop.
func FuzzAccept(f *testing.F) {
	kr := wire.NewKeyring()
	for seq := range uint64(3) {
		p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 1, Seq: seq + 1, Interval: time.Second, SentAt: now}
		b, err := kr.Seal(&p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, int(seq)+2, uint8(seq))
		f.Add(b, 2, uint8(seq+2)) // from an address that is not the peer's
	}
	f.Add([]byte("heartbeat"), 2, uint8(1))
	f.Add([]byte("heartbeat\x00"), 3, uint8(0))
	f.Add([]byte{}, 3, uint8(2))
	sources := []netip.Addr{primaryPriv, primaryPub, netip.MustParseAddr("192.0.2.99"), netip.MustParseAddr("2001:db8::1")}
	links := map[int]string{2: "priv0", 3: "pub0"} // as testMonitor's interfaces
	f.Fuzz(func(t *testing.T, b []byte, ifindex int, src uint8) {
		m, _ := testMonitor(t, kr, true)
		m.log = slog.New(slog.DiscardHandler)
		from := sources[int(src)%len(sources)]
		h, ok := m.accept(b, ifindex, from, now)
		checkAccepted(t, m, h, ok, ifindex, from, links, 1)
		again, ok2 := m.accept(b, ifindex, from, now)
		if ok && ok2 && !h.Legacy {
			t.Fatalf("the same packet accepted twice: %+v", again)
		}
		checkAccepted(t, m, again, ok2, ifindex, from, links, 2)
	})
}

// checkAccepted checks one accept call's answer against the invariants;
// calls is how many packets the monitor was given so far.
func checkAccepted(t *testing.T, m *Monitor, h Heard, ok bool, ifindex int, from netip.Addr, links map[int]string, calls uint64) {
	t.Helper()
	if ok {
		if want, known := links[ifindex]; !known || h.Link != want {
			t.Fatalf("accepted on link %q from interface %d (links %v)", h.Link, ifindex, links)
		}
		if h.From != from || (from != primaryPriv && from != primaryPub) {
			t.Fatalf("accepted from %v (sent from %v), not a configured peer", h.From, from)
		}
		if !h.At.Equal(now) || (h.Legacy && h.Packet.Message != "heartbeat") {
			t.Fatalf("accepted %+v", h)
		}
	}
	var counted uint64
	for _, st := range m.Stats() {
		counted += st.Received
		for _, n := range st.Dropped {
			counted += n
		}
	}
	if counted != calls {
		t.Fatalf("%d packets given, %d counted (received + dropped): %+v", calls, counted, m.Stats())
	}
}

// A heartbeat from a public link's subnet (a primary with service
// addresses sends from its host address) counts only with the sender and
// epoch heard from the primary's own addresses: another pair's
// heartbeats on the same subnet do not keep the link alive.
func TestSubnetHeartbeatsCountOnlyAsThePrimarys(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	host := netip.MustParseAddr("198.51.100.11")
	other := func(epoch, seq uint64) []byte {
		p := wire.Packet{Type: wire.Heartbeat, Sender: "another-pair", Epoch: epoch, Seq: seq, Interval: time.Second, SentAt: now}
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, ok := m.accept(packet(t, kr, 7, 1, now), 3, host, now); ok {
		t.Fatal("a subnet heartbeat counted before the primary was heard from its own address")
	}
	if _, ok := m.accept(packet(t, kr, 7, 2, now), 2, primaryPriv, now); !ok {
		t.Fatal("the primary's private heartbeat was dropped")
	}
	if _, ok := m.accept(packet(t, kr, 7, 2, now), 3, host, now); !ok {
		t.Fatal("the primary's heartbeat from its host address was dropped")
	}
	if _, ok := m.accept(other(9, 1), 3, netip.MustParseAddr("198.51.100.50"), now); ok {
		t.Fatal("another pair's heartbeat on the subnet counted as the primary's")
	}
	// The primary's name is not enough: another run (epoch) under that
	// name, from the subnet, is not the one heard from its own address.
	if _, ok := m.accept(packet(t, kr, 8, 1, now), 3, netip.MustParseAddr("198.51.100.50"), now); ok {
		t.Fatal("a subnet heartbeat under the primary's name but another epoch counted as the primary's")
	}
	if d := m.Stats()["pub0"].Dropped[wire.DropWrongPeer]; d != 3 {
		t.Fatalf("wrong-peer drops %d, want 3", d)
	}
}

// Packets the key signs but that are no heartbeat of the primary (a
// holding or released failoverd sent, a standby's announcement),
// recorded and sent again from the primary's address, are dropped as
// wrong-type: each would otherwise count as the primary heard once, and
// a stream of them would keep a dead primary's links alive.
func TestSignedPacketsOfOtherTypesAreNoHeartbeats(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	m, _ := testMonitor(t, kr, false)
	for i, typ := range []wire.Type{wire.Released, wire.Holding, wire.Standby} {
		at := now.Add(time.Duration(i) * time.Second) // refused packets are told at most one each 10 ms
		p := wire.Packet{Type: typ, Sender: "server2", Epoch: 7, Seq: uint64(i + 1), Interval: time.Second, SentAt: at}
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := m.accept(b, 2, primaryPriv, at)
		if ok || h.Dropped != wire.DropWrongType {
			t.Fatalf("a signed %s from the primary's address: accepted %v, dropped %q; want dropped as %s", typ, ok, h.Dropped, wire.DropWrongType)
		}
	}
	if n := m.Stats()["priv0"].Dropped[wire.DropWrongType]; n != 3 {
		t.Fatalf("wrong-type drops on priv0: %d, want 3", n)
	}
	if _, ok := m.accept(packet(t, kr, 1, 1, now.Add(3*time.Second)), 2, primaryPriv, now.Add(3*time.Second)); !ok {
		t.Fatal("the primary's heartbeat after them was not accepted")
	}
}
