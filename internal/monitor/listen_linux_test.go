package monitor

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// The kernel filter drops junk before it is queued: packets from an
// address that is not the peer's, and packets from the peer that do not
// start like a heartbeat, never reach the monitor; nor, once the link
// heard the peer's own address, do packets from the peer's subnet (see
// TestPublicFilterPassesOnlyThePrimarysAddresses for when they pass).
// Loopback only.
func TestKernelFilterDropsJunk(t *testing.T) {
	peer := netip.MustParseAddr("127.0.0.1")
	m, port := loopbackMonitor(t)
	heard := runMonitor(t, m, 16)
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}
	send := func(from string, b []byte, n int) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(from)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range n {
			if _, err := c.WriteToUDP(b, to); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 1, Seq: 1, Interval: time.Second, SentAt: time.Now()}
	good, err := wire.NewKeyring().Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	send("127.0.0.2", good, 200)                           // a heartbeat, but not from the peer
	send("127.0.0.1", []byte("junk junk junk junk!"), 200) // from the peer, not a heartbeat
	send("127.0.2.1", good, 200)                           // outside the peer's subnet
	next := func(seq uint64) {
		t.Helper()
		select {
		case h := <-heard:
			if h.From != peer || h.Packet.Seq != seq {
				t.Fatalf("heard %+v, want seq %d from %v", h, seq, peer)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the heartbeat (seq %d) behind the junk never came", seq)
		}
	}
	send("127.0.0.1", good, 1)
	next(1)
	p.Seq = 2
	fromNet, err := wire.NewKeyring().Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	send("127.0.1.9", fromNet, 200) // the subnet: it passed until lo heard the peer
	p.Seq = 3
	after, err := wire.NewKeyring().Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	send("127.0.0.1", after, 1)
	next(3)
	st := m.Stats()
	if len(st["lo"].Dropped) != 0 || len(st[Unknown].Dropped) != 0 {
		t.Fatalf("junk reached the monitor: %+v", st)
	}
}

// A link whose interface is missing at start does not keep failoverd from
// starting.
func TestMissingLinkInterfaceIsNotFatal(t *testing.T) {
	m, _ := loopbackMonitor(t, "nosuch0")
	m.Close()
}

// More primary addresses than the kernel filter's jumps can pass over are
// refused, not wrapped into a filter that drops the primary's heartbeats.
func TestFilterRefusesTooManyPeers(t *testing.T) {
	var peers []netip.Prefix
	for i := range 130 {
		peers = append(peers, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32))
	}
	if _, err := socketFilter(nil, peers, true, true); err == nil {
		t.Fatal("a filter for 130 addresses was built")
	}
	if _, err := socketFilter(nil, peers[:100], true, true); err != nil {
		t.Fatalf("100 addresses: %v", err)
	}
}

// When every link's interface exists nothing shares the heartbeat port:
// a socket already on it (another program, a failoverd already running)
// makes Listen fail, rather than start with a link's IPv4 heartbeats
// going to the other socket. Loopback only.
func TestListenFailsWhenThePortIsTaken(t *testing.T) {
	other, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	port := uint16(other.LocalAddr().(*net.UDPAddr).Port)
	m, err := Listen(loopbackConfig(port), slog.New(slog.DiscardHandler))
	if err == nil {
		m.Close()
		t.Fatalf("Listen on port %d, taken by another socket, succeeded", port)
	}
	if !errors.Is(err, unix.EADDRINUSE) || !strings.Contains(err.Error(), "on link lo") {
		t.Fatalf("Listen: %v, want %v on link lo", err, unix.EADDRINUSE)
	}
}

// A primary whose address is IPv6 is heard over IPv6. Loopback only.
func TestHeartbeatsOverIPv6AreHeard(t *testing.T) {
	probe, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("skipped: this host has no IPv6 loopback (::1): %v", err)
	}
	probe.Close()
	lo6 := netip.MustParseAddr("::1")
	cfg := loopbackConfig(freePort(t))
	cfg.Peers = append(cfg.Peers, lo6)
	m, err := Listen(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	heard := runMonitor(t, m, 4)
	c, err := net.Dial("udp6", netip.AddrPortFrom(lo6, cfg.Port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(packet(t, wire.NewKeyring(), 1, 1, time.Now())); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-heard:
		if h.From != lo6 || h.Link != "lo" {
			t.Fatalf("heard %+v, want from %v on lo", h, lo6)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the IPv6 heartbeat was not heard: %v", m.Stats())
	}
}
