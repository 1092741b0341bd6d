package monitor

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// In a two-server lab, the monitor attributes each packet to the link it
// arrived on and counts what it drops.
func TestMonitorInNamespaces(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr)
	s1.MustRun("ip", "addr", "add", "192.0.2.50/24", "dev", "priv0") // not the primary's address
	heard := runMonitor(t, m, 100)

	send := func(src, dst string, seq uint64, keys *wire.Keyring) {
		t.Helper()
		err := s1.Do(func() error {
			c, err := net.ListenPacket("udp4", src+":0")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.WriteTo(packet(t, keys, 9, seq, time.Now()), &net.UDPAddr{IP: net.ParseIP(dst), Port: 1694})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	send("192.0.2.1", "192.0.2.2", 1, kr)
	send("198.51.100.1", "198.51.100.2", 1, kr)
	got := map[string]netip.Addr{}
	for range 2 {
		select {
		case h := <-heard:
			got[h.Link] = h.From
		case <-time.After(2 * time.Second):
			t.Fatalf("heard only %v", got)
		}
	}
	if got["priv0"] != primaryPriv || got["pub0"] != primaryPub {
		t.Fatalf("links and sources %v", got)
	}
	// A broadcast heartbeat (as heartbeatd sends them) is heard once,
	// not once for each socket on the port.
	send("192.0.2.1", "192.0.2.255", 2, kr)
	select {
	case h := <-heard:
		if h.Link != "priv0" || h.Packet.Seq != 2 {
			t.Fatalf("broadcast heard as %+v", h)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the broadcast heartbeat was not heard")
	}
	if lab.Stays(300*time.Millisecond, func() bool { return len(m.Stats()["priv0"].Dropped) == 0 && len(heard) == 0 }) == false {
		t.Fatalf("a broadcast came twice: drops %v, %d more heard", m.Stats()["priv0"].Dropped, len(heard))
	}
	send("192.0.2.50", "192.0.2.2", 2, kr)               // wrong peer: the kernel's filter drops it
	send("192.0.2.1", "192.0.2.2", 3, wire.NewKeyring()) // unsigned
	send("192.0.2.1", "192.0.2.2", 2, kr)                // replay
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		d := m.Stats()["priv0"].Dropped
		if d[wire.DropBadTag] == 1 && d[wire.DropReplay] == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := m.Stats()["priv0"].Dropped; d[wire.DropBadTag] != 1 || d[wire.DropReplay] != 1 || d[wire.DropWrongPeer] != 0 {
		t.Fatalf("drops on priv0: %v", d)
	}
	select {
	case h := <-heard:
		t.Fatalf("heard %+v (the wrong peer's packet?)", h)
	default:
	}
}

// While a link's interface is missing, one socket takes the port on every
// other interface; a broadcast heartbeat on a link that has its own
// socket reaches that socket too, and must still be heard once, on every
// such link (the shared socket's filter drops what came on any of them).
func TestABroadcastIsHeardOnceWhileALinkIsMissing(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr, func(c *Config) { c.Links = append(c.Links, "nosuch0") })
	heard := runMonitor(t, m, 100)
	for i, c := range []struct{ src, dst, link string }{
		{"192.0.2.1", "192.0.2.255", "priv0"},
		{"198.51.100.1", "198.51.100.255", "pub0"},
	} {
		seq := uint64(i + 1)
		err := s1.Do(func() error {
			s, err := net.ListenPacket("udp4", c.src+":0")
			if err != nil {
				return err
			}
			defer s.Close()
			_, err = s.WriteTo(packet(t, kr, 9, seq, time.Now()), &net.UDPAddr{IP: net.ParseIP(c.dst), Port: 1694})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case h := <-heard:
			if h.Link != c.link || h.Packet.Seq != seq {
				t.Fatalf("the broadcast on %s heard as %+v", c.link, h)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("the broadcast on %s was not heard: %v", c.link, m.Stats())
		}
		if !lab.Stays(300*time.Millisecond, func() bool { return len(m.Stats()[c.link].Dropped) == 0 && len(heard) == 0 }) {
			t.Fatalf("the broadcast on %s came twice: drops %v, %d more heard", c.link, m.Stats()[c.link].Dropped, len(heard))
		}
	}
}
