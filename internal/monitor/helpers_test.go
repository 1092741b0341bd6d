package monitor

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// loopbackMonitor listens on a free port of loopback with lo as its link
// and 127.0.0.1 as the peer, unsigned; extra links are added after lo.
func loopbackMonitor(t *testing.T, extra ...string) (*Monitor, uint16) {
	t.Helper()
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
	free.Close()
	m, err := Listen(Config{Port: port, Links: append([]string{"lo"}, extra...), Peers: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
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
	return m, port
}

// runMonitor runs m until the test ends and passes on what it accepts.
func runMonitor(t *testing.T, m *Monitor, room int) <-chan Heard {
	heard := make(chan Heard, room)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, func(hs []Heard) {
			for _, h := range hs {
				heard <- h
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return heard
}
