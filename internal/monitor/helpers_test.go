package monitor

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// loopbackMonitor listens on a free port of loopback with lo as its link
// and 127.0.0.1 and 127.0.1.0/24 as the peer, unsigned; extra links are
// added after lo.
func loopbackMonitor(t *testing.T, extra ...string) (*Monitor, uint16) {
	t.Helper()
	port := freePort(t)
	m, err := Listen(loopbackConfig(port, extra...), slog.New(slog.DiscardHandler))
	if err != nil {
		// Fatal, not a skip: loopback works (the port above was free), so
		// an error here is Listen's own, and the test of a missing link
		// interface exists to catch exactly that.
		t.Fatalf("Listen: %v", err)
	}
	return m, port
}

// freePort returns a UDP port of loopback that was free a moment ago.
func freePort(t *testing.T) uint16 {
	t.Helper()
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer free.Close()
	return uint16(free.LocalAddr().(*net.UDPAddr).Port)
}

// loopbackConfig is loopbackMonitor's Config.
func loopbackConfig(port uint16, extra ...string) Config {
	return Config{Port: port, Links: append([]string{"lo"}, extra...), Peers: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		PeerNets: []netip.Prefix{netip.MustParsePrefix("127.0.1.0/24")},
		Keyring:  func() *wire.Keyring { return wire.NewKeyring() },
		Snapshot: func() ([]netif.Interface, error) {
			ifs, err := net.Interfaces()
			var out []netif.Interface
			for _, i := range ifs {
				out = append(out, netif.Interface{Name: i.Name, Index: i.Index})
			}
			return out, err
		}}
}

// runMonitor runs m until the test ends and passes on what it accepts
// (not the dropped packets of the primary's addresses it delivers too).
func runMonitor(t *testing.T, m *Monitor, room int) <-chan Heard {
	return runMonitorIn(t, nil, m, room)
}

// runMonitorIn is runMonitor with Run's goroutine inside ns (unless nil),
// as failoverd's is in its own namespace: there it looks the links'
// interfaces up (Monitor.follow).
func runMonitorIn(t *testing.T, ns *lab.NS, m *Monitor, room int) <-chan Heard {
	heard := make(chan Heard, room)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	run := func() error {
		return m.Run(ctx, func(hs []Heard) {
			for _, h := range hs {
				if h.Dropped == "" {
					heard <- h
				}
			}
		})
	}
	go func() {
		if ns == nil {
			done <- run()
			return
		}
		done <- ns.Do(run)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return heard
}

// twoServers builds s1 (the primary: 192.0.2.1 on priv0, 198.51.100.1 on
// pub0) and s2 (192.0.2.2, 198.51.100.2) joined by two veth pairs, and a
// monitor on s2 for both links with key kr; opts change its Config.
func twoServers(t *testing.T, kr *wire.Keyring, opts ...func(*Config)) (s1 *lab.NS, m *Monitor) {
	t.Helper()
	s1, _, m = twoServersNS(t, kr, opts...)
	return s1, m
}

// twoServersNS is twoServers, with s2 (the monitor's namespace) too.
func twoServersNS(t *testing.T, kr *wire.Keyring, opts ...func(*Config)) (s1, s2 *lab.NS, m *Monitor) {
	t.Helper()
	l := lab.New(t)
	s1, s2 = l.Netns("s1"), l.Netns("s2")
	l.Veth(s1, "priv0", s2, "priv0")
	l.Veth(s1, "pub0", s2, "pub0")
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/24")
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")
	err := s2.Do(func() (err error) {
		cfg := Config{Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
			Keyring: func() *wire.Keyring { return kr }}
		for _, o := range opts {
			o(&cfg)
		}
		m, err = Listen(cfg, slog.New(slog.DiscardHandler))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s1, s2, m
}
