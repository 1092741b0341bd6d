package standby

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

func TestMessageRoundTrip(t *testing.T) {
	fp := Fingerprint([]netip.Addr{netip.MustParseAddr("198.51.100.1")})
	for _, s := range []Self{{Name: "s2", Priority: 1, Addresses: fp}, {Name: "s3", Priority: 255, Holding: true, Eligible: true, Addresses: fp}, {Name: "s4", Priority: 100, Eligible: true, Addresses: fp}} {
		got, err := ParseMessage(s.Name, s.Message())
		if err != nil || got != s {
			t.Fatalf("ParseMessage(%q) = %+v, %v; want %+v", s.Message(), got, err, s)
		}
	}
	const a = " addresses=5d0c3b2a19e8f746"
	for _, bad := range []string{"", "priority=0 holding=no eligible=no" + a, "priority=256 holding=no eligible=no" + a,
		"priority=100 holding=no" + a, "priority=100 holding=no eligible=no eligible=yes" + a, "priority=100 holding=maybe eligible=no" + a,
		"priority=100 holding=no eligible=no extra=1" + a, "priority=x holding=no eligible=no" + a, "heartbeat",
		"priority=100 holding=no eligible=no", "priority=100 holding=no eligible=no addresses=5d0c3b2a", "priority=100 holding=no eligible=no addresses=5D0C3B2A19E8F746",
		"priority=100 holding=no eligible=no addresses=5d0c3b2a19e8f7zz"} {
		if s, err := ParseMessage("s2", bad); err == nil {
			t.Errorf("ParseMessage(%q) = %+v, want an error", bad, s)
		}
	}
}

func peer(name string, prio int, holding, eligible bool, at time.Time) Peer {
	return Peer{Self: Self{Name: name, Priority: prio, Holding: holding, Eligible: eligible}, Heard: at}
}

// The rules of who leaves the addresses to whom.
func TestYield(t *testing.T) {
	const timeout = 3 * time.Second
	me := Self{Name: "b", Priority: 150, Eligible: true}
	cases := []struct {
		name  string
		me    Self
		peers []Peer
		want  Yield
	}{
		{"alone", me, nil, Yield{}},
		{"a lower one", me, []Peer{peer("c", 100, false, true, t0)}, Yield{}},
		{"a higher one, eligible", me, []Peer{peer("a", 200, false, true, t0)}, Yield{To: "a", Priority: 200, Above: true}},
		{"a higher one, held by its operator", me, []Peer{peer("a", 200, false, false, t0)}, Yield{}},
		{"a higher one, silent for the timeout", me, []Peer{peer("a", 200, false, true, t0.Add(-timeout-time.Millisecond))}, Yield{}},
		{"a lower one holds", me, []Peer{peer("c", 100, true, true, t0)}, Yield{To: "c", Priority: 100, Holds: true}},
		{"a holder before a higher one", me, []Peer{peer("a", 200, false, true, t0), peer("c", 100, true, true, t0)}, Yield{To: "c", Priority: 100, Holds: true}},
		{"holding, a lower one holds too", Self{Name: "b", Priority: 150, Holding: true}, []Peer{peer("c", 100, true, true, t0)}, Yield{Lower: "c"}},
		{"holding, a higher one holds too", Self{Name: "b", Priority: 150, Holding: true}, []Peer{peer("a", 200, true, true, t0)}, Yield{To: "a", Priority: 200, Holds: true, Above: true}},
		{"holding, a higher one that does not hold", Self{Name: "b", Priority: 150, Holding: true}, []Peer{peer("a", 200, false, true, t0)}, Yield{}},
		{"a tie: the name decides", me, []Peer{peer("a", 150, false, true, t0)}, Yield{To: "a", Priority: 150, Above: true}},
		{"a tie the other way", me, []Peer{peer("c", 150, false, true, t0)}, Yield{}},
	}
	for _, c := range cases {
		tb := NewTable()
		for _, p := range c.peers {
			tb.Heard(p, Life{Timeout: timeout})
		}
		if got := tb.Yield(c.me, t0, Life{Timeout: timeout}); got != c.want {
			t.Errorf("%s: Yield = %+v, want %+v", c.name, got, c.want)
		}
	}
	tb := NewTable()
	tb.Heard(peer("a", 150, false, true, t0), Life{Timeout: timeout})
	tb.Heard(peer("c", 100, false, true, t0), Life{Timeout: timeout})
	if ties := tb.Ties(me, t0, Life{Timeout: timeout}); len(ties) != 1 || ties[0].Name != "a" {
		t.Errorf("ties %+v, want a alone", ties)
	}
}

// A standby that announces itself less often than the primary's interval
// (it has not heard the primary) counts as alive for as many of its own
// intervals as the timeout is of the primary's; one at the primary's
// pace, or faster, for the timeout.
func TestAliveAtItsOwnPace(t *testing.T) {
	life := Life{Timeout: 300 * time.Millisecond, Pace: 100 * time.Millisecond}
	tb := NewTable()
	slow, fast := peer("a", 200, false, true, t0), peer("c", 100, false, true, t0)
	slow.Interval, fast.Interval = time.Second, 50*time.Millisecond
	tb.Heard(slow, life)
	tb.Heard(fast, life)
	names := func(at time.Duration) (out []string) {
		for _, p := range tb.Alive(t0.Add(at), life) {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names(300 * time.Millisecond); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("alive at +300ms: %v, want a and c", got)
	}
	if got := names(301 * time.Millisecond); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("alive at +301ms: %v, want a alone (it announces every second)", got)
	}
	if got := names(3 * time.Second); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("alive at +3s: %v, want a", got)
	}
	if got := names(3*time.Second + time.Millisecond); len(got) != 0 {
		t.Fatalf("alive at +3.001s: %v, want none", got)
	}
	if y := tb.Yield(Self{Name: "c", Priority: 100}, t0.Add(2*time.Second), life); y.To != "a" {
		t.Fatalf("yield %+v at +2s, want to a", y)
	}
}

// The table is bounded: a flood of names (with the key) cannot grow it,
// and one that went silent makes room.
func TestTableIsBounded(t *testing.T) {
	const timeout = 3 * time.Second
	tb := NewTable()
	for i := range MaxPeers {
		if !tb.Heard(peer(string(rune('a'+i)), 100+i, false, true, t0), Life{Timeout: timeout}) {
			t.Fatalf("peer %d refused", i)
		}
	}
	if tb.Heard(peer("z", 50, false, true, t0), Life{Timeout: timeout}) {
		t.Fatal("a standby past the bound was taken on")
	}
	if !tb.Heard(peer("z", 50, false, true, t0.Add(timeout+time.Second)), Life{Timeout: timeout}) {
		t.Fatal("a standby was refused once the others went silent")
	}
}

func keyring(t *testing.T) *wire.Keyring {
	k, err := wire.NewKey([]byte("0123456789abcdef0123"), "test")
	if err != nil {
		t.Fatal(err)
	}
	return wire.NewKeyring(k)
}

// theirs: the addresses a pair's standbys take.
var theirs = Fingerprint([]netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.1")})

func testConn(t *testing.T, keys *wire.Keyring, name string) *Conn {
	return newConn(Config{Port: DefaultPort, Links: []string{"priv0", "pub0"}, Name: name, Addresses: theirs,
		Keys: func() *wire.Keyring { return keys }, Freshness: 30 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// The fingerprint is the set's: the order and repeats of the addresses
// do not change it, another address does.
func TestFingerprint(t *testing.T) {
	a, b, c := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")
	if x, y := Fingerprint([]netip.Addr{a, b}), Fingerprint([]netip.Addr{b, a, b}); x != y || len(x) != 16 {
		t.Fatalf("fingerprints %q and %q of one set", x, y)
	}
	if Fingerprint([]netip.Addr{a, b}) == Fingerprint([]netip.Addr{a, c}) || Fingerprint([]netip.Addr{a}) == Fingerprint([]netip.Addr{a, b}) {
		t.Fatal("two sets, one fingerprint")
	}
}

// What the receiver takes: signed announcements of another standby on a
// link, once each; everything else is dropped and counted by reason.
func TestAcceptAnnouncements(t *testing.T) {
	kr := keyring(t)
	me, other := testConn(t, kr, "server2"), testConn(t, kr, "server3")
	from := netip.MustParseAddr("192.0.2.3")
	seal := func(kr *wire.Keyring, p wire.Packet) []byte {
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ann := seal(kr, other.Packet(Self{Name: "server3", Priority: 200, Eligible: true}, time.Second, t0))
	got, ok := me.Accept(ann, "priv0", from, t0)
	if !ok || got.Name != "server3" || got.Priority != 200 || !got.Eligible || got.Holding || got.Link != "priv0" || got.From != from || got.Addresses != theirs {
		t.Fatalf("accept = %+v, %v", got, ok)
	}
	steps := []struct {
		name   string
		b      []byte
		link   string
		reason wire.DropReason
	}{
		{"the same again", ann, "priv0", wire.DropReplay},
		{"on no link", seal(kr, other.Packet(Self{Name: "server3", Priority: 200}, time.Second, t0)), "eth9", wire.DropUnknownLink},
		{"unsigned", seal(wire.NewKeyring(), other.Packet(Self{Name: "server3", Priority: 200}, time.Second, t0)), "priv0", wire.DropBadTag},
		{"a heartbeat", seal(kr, wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 1, Seq: 1, Interval: time.Second, SentAt: t0}), "priv0", wire.DropWrongType},
		{"a bad message", seal(kr, wire.Packet{Type: wire.Standby, Sender: "server4", Epoch: 1, Seq: 1, Interval: time.Second, SentAt: t0, Message: "priority=999"}), "priv0", wire.DropMalformed},
		{"junk", []byte("junk"), "pub0", wire.DropMalformed},
		// Another pair's standby on the same LAN, holding its own
		// addresses, holds this pair's standbys back from nothing.
		{"another pair's", seal(kr, wire.Packet{Type: wire.Standby, Sender: "server9", Epoch: 1, Seq: 1, Interval: time.Second, SentAt: t0,
			Message: Self{Priority: 250, Holding: true, Eligible: true, Addresses: Fingerprint([]netip.Addr{netip.MustParseAddr("198.51.100.9")})}.Message()}), "pub0", wire.DropWrongPeer},
	}
	for _, s := range steps {
		before := me.Stats().Dropped[s.reason]
		if p, ok := me.Accept(s.b, s.link, from, t0); ok {
			t.Fatalf("%s: accepted %+v", s.name, p)
		}
		if me.Stats().Dropped[s.reason] != before+1 {
			t.Fatalf("%s: not counted as %s: %v", s.name, s.reason, me.Stats().Dropped)
		}
	}
	// Its own broadcast, looped back, is neither taken nor counted.
	own := seal(kr, me.Packet(Self{Name: "server2", Priority: 100}, time.Second, t0))
	if _, ok := me.Accept(own, "priv0", from, t0); ok {
		t.Fatal("took its own announcement")
	}
	if st := me.Stats(); st.Received != 1 {
		t.Fatalf("received %d, want 1", st.Received)
	}
}

// Over a real socket on loopback: an announcement sent to the standby
// port arrives, as the other standby sent it.
func TestAnnouncementOverLoopback(t *testing.T) {
	kr := keyring(t)
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
	free.Close()
	c, err := Listen(Config{Port: port, Links: []string{"lo"}, Name: "server2", Addresses: theirs, Keys: func() *wire.Keyring { return kr }, Freshness: 30 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan Peer, 4)
	go c.Run(ctx, func(p Peer) { heard <- p })
	other := testConn(t, kr, "server3")
	p := other.Packet(Self{Name: "server3", Priority: 42, Holding: true, Eligible: true}, time.Second, time.Now())
	b, err := kr.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := out.Write(b); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-heard:
		if got.Name != "server3" || got.Priority != 42 || !got.Holding || got.Link != "lo" {
			t.Fatalf("heard %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing heard in 5 s; stats %+v", c.Stats())
	}
}

func TestBroadcast(t *testing.T) {
	for _, c := range []struct{ cidr, want string }{{"192.0.2.7/24", "192.0.2.255"}, {"198.51.100.9/25", "198.51.100.127"}, {"203.0.113.1/31", ""}, {"2001:db8::1/64", ""}} {
		ip, n, _ := net.ParseCIDR(c.cidr)
		n.IP = ip
		b, ok := broadcast(n)
		if (c.want == "") == ok || (ok && b.String() != c.want) {
			t.Errorf("broadcast(%s) = %v, %v; want %q", c.cidr, b, ok, c.want)
		}
	}
}

// Two hosts with one name (FAILOVER_NODE_NAME defaults to the host name
// up to its first dot: web.dc1 and web.dc2 are both "web") would each
// take the other's announcements for their own, looped back, and both
// take the addresses: the other's is a drop, counted and logged.
func TestAnotherHostWithThisHostsNameIsTold(t *testing.T) {
	kr := keyring(t)
	var log strings.Builder
	me := newConn(Config{Port: DefaultPort, Links: []string{"priv0", "pub0"}, Name: "web", Addresses: theirs,
		Keys: func() *wire.Keyring { return kr }, Freshness: 30 * time.Second}, slog.New(slog.NewTextHandler(&log, nil)), nil)
	twin := testConn(t, kr, "web")
	from := netip.MustParseAddr("192.0.2.3")
	for _, c := range []*Conn{me, twin} {
		p := c.Packet(Self{Name: "web", Priority: 100, Eligible: true, Addresses: theirs}, time.Second, t0)
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := me.Accept(b, "priv0", from, t0); ok {
			t.Fatalf("took %+v", got)
		}
	}
	if n := me.Stats().Dropped[wire.DropWrongPeer]; n != 1 {
		t.Fatalf("wrong-peer drops %d, want 1 (the twin's, not this run's own)", n)
	}
	if !strings.Contains(log.String(), "with this host's name") {
		t.Fatalf("not logged:\n%s", log.String())
	}
}

// A Conn without a socket (Fed), as the simulation uses it: what Sealed
// returns is what another's Accept takes, each once, under the key; its
// Announce and Run refuse, having no socket, and Close is harmless.
func TestFedConnsCarryAnnouncements(t *testing.T) {
	kr := keyring(t)
	cfg := func(name string) Config {
		return Config{Port: DefaultPort, Links: []string{"priv0", "pub0"}, Name: name, Addresses: theirs, Keys: func() *wire.Keyring { return kr }, Freshness: 30 * time.Second}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	me, other := Fed(cfg("server2"), log), Fed(cfg("server3"), log)
	from := netip.MustParseAddr("198.51.100.3")
	for i, s := range []Self{{Name: "server3", Priority: 7, Eligible: true, Addresses: theirs}, {Name: "server3", Priority: 7, Holding: true, Eligible: true, Addresses: theirs}} {
		b, err := other.Sealed(s, 50*time.Millisecond, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := me.Accept(b, "pub0", from, t0.Add(time.Duration(i)*time.Second))
		if !ok || got.Self != s || got.Link != "pub0" || got.From != from {
			t.Fatalf("announcement %d: Accept = %+v, %v; want %+v", i, got, ok, s)
		}
		if _, ok := me.Accept(b, "pub0", from, t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("announcement %d taken twice", i)
		}
	}
	if st := me.Stats(); st.Received != 2 || st.Dropped[wire.DropReplay] != 2 {
		t.Fatalf("stats %+v, want 2 received and 2 replays", st)
	}
	if _, err := me.Announce(Self{Name: "server2", Priority: 5}, time.Second, t0); err == nil {
		t.Fatal("Announce without a socket: no error")
	}
	if err := me.Run(context.Background(), func(Peer) {}); err == nil {
		t.Fatal("Run without a socket: no error")
	}
	if err := me.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
