package monitor

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Junk that fills one link's queue cannot crowd out another link's
// heartbeat: while nothing reads, the primary's address floods the public
// link with packets that pass the kernel's filter (they start like a
// heartbeat), then one heartbeat comes on the private link. It must be
// read. With one socket for every link, it was dropped with the queue
// full.
func TestJunkOnOneLinkCannotCrowdOutAnother(t *testing.T) {
	l := lab.New(t)
	s1, s2 := l.Netns("s1"), l.Netns("s2")
	l.Veth(s1, "priv0", s2, "priv0")
	l.Veth(s1, "pub0", s2, "pub0")
	s1.Addr("priv0", "192.0.2.1/24")
	s1.Addr("pub0", "198.51.100.1/24")
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")
	kr := key(t, "0123456789abcdef0123")
	var m *Monitor
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s2.Do(func() (err error) {
		m, err = Listen(Config{Port: 1694, Links: []string{"priv0", "pub0"}, Peers: []netip.Addr{primaryPriv, primaryPub},
			Keyring: func() *wire.Keyring { return kr }}, slog.New(slog.DiscardHandler))
		return err
	}))
	// Fill the public link's queue: far more than any receive buffer holds.
	f, err := lab.SendFlood(s1, "198.51.100.1:40000", "198.51.100.2:1694", 40, []byte("IPFO\x01\x01\x00\x06"), 2*time.Second)
	must(err)
	t.Logf("junk on pub0 while nothing read: %v", f)
	must(s1.Do(func() error {
		c, err := net.ListenPacket("udp4", "192.0.2.1:0")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WriteTo(packet(t, kr, 9, 1, time.Now()), &net.UDPAddr{IP: net.ParseIP("192.0.2.2"), Port: 1694})
		return err
	}))
	heard := runMonitor(t, m, 1<<16)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case h := <-heard:
			if h.Link == "priv0" {
				return
			}
		case <-deadline:
			t.Fatalf("the private link's heartbeat was lost behind the public link's junk; drops %v", m.Stats())
		}
	}
}
