package monitor

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// The kernel filter drops junk before it is queued: packets from an
// address that is not the peer's, and packets from the peer that do not
// start like a heartbeat, never reach the monitor. Loopback only.
func TestKernelFilterDropsJunk(t *testing.T) {
	peer := netip.MustParseAddr("127.0.0.1")
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
	free.Close()
	m, err := Listen(Config{Port: port, Links: []string{"lo"}, Peers: []netip.Addr{peer},
		Keyring: func() *wire.Keyring { return wire.NewKeyring() },
		Snapshot: func() ([]netif.Interface, error) {
			ifs, err := net.Interfaces()
			var out []netif.Interface
			for _, i := range ifs {
				out = append(out, netif.Interface{Name: i.Name, Index: i.Index})
			}
			return out, err
		}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	heard := make(chan Heard, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, func(hs []Heard) {
			for _, h := range hs {
				heard <- h
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
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
	send("127.0.0.1", good, 1)
	select {
	case h := <-heard:
		if h.From != peer || h.Packet.Seq != 1 {
			t.Fatalf("heard %+v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the heartbeat behind the junk never came")
	}
	st := m.Stats()
	if len(st["lo"].Dropped) != 0 || len(st[Unknown].Dropped) != 0 {
		t.Fatalf("junk reached the monitor: %+v", st)
	}
}

// A link whose interface is missing at start does not keep failoverd from
// starting.
func TestMissingLinkInterfaceIsNotFatal(t *testing.T) {
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
	free.Close()
	m, err := Listen(Config{Port: port, Links: []string{"lo", "nosuch0"}, Peers: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Keyring: func() *wire.Keyring { return wire.NewKeyring() }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("a missing interface failed the start: %v", err)
	}
	m.Close()
}
