package monitor

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// In the kernel: the public link's filter passes its subnet until the
// primary is heard there, then only the primary's addresses and the host
// address its heartbeats came from, until a new epoch. A client's forged
// heartbeats reach the monitor (counted as wrong-peer) only while the
// subnet passes; otherwise the kernel drops them before they are queued.
// The filter passed the whole subnet at all times.
func TestPublicFilterPassesOnlyThePrimarysAddresses(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr, func(c *Config) { c.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")} })
	const host, client = "198.51.100.11", "198.51.100.100"
	s1.MustRun("ip", "addr", "add", host+"/24", "dev", "pub0")
	s1.MustRun("ip", "addr", "add", client+"/24", "dev", "pub0")
	heard := runMonitor(t, m, 100)
	send := func(src, dst string, b []byte, n int) {
		t.Helper()
		err := s1.Do(func() error {
			c, err := net.ListenPacket("udp4", src+":0")
			if err != nil {
				return err
			}
			defer c.Close()
			for range n {
				if _, err := c.WriteTo(b, &net.UDPAddr{IP: net.ParseIP(dst), Port: 1694}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	heartbeat := func(src, dst string, epoch, seq uint64) {
		t.Helper()
		send(src, dst, packet(t, kr, epoch, seq, time.Now()), 1)
		select {
		case h := <-heard:
			if h.From != netip.MustParseAddr(src) || h.Packet.Seq != seq {
				t.Fatalf("heard %v seq %d, want %s seq %d", h.From, h.Packet.Seq, src, seq)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the heartbeat from %s (epoch %d seq %d) was not heard: %v", src, epoch, seq, m.Stats())
		}
	}
	junk := func() uint64 { return m.Stats()["pub0"].Dropped[wire.DropWrongPeer] }
	forged := packet(t, key(t, "not the key, but long enough"), 1, 1, time.Now())
	// reaches: the client's junk reaches the monitor (or not, and a
	// heartbeat from the host address sent after it comes first).
	reaches := func(when string, want bool, epoch, seq uint64) {
		t.Helper()
		before := junk()
		send(client, "198.51.100.2", forged, 100)
		if want {
			if !lab.WaitFor(5*time.Second, func() bool { return junk() >= before+100 }) {
				t.Fatalf("%s: %d of the client's 100 packets reached the monitor, want all", when, junk()-before)
			}
			return
		}
		heartbeat(host, "198.51.100.2", epoch, seq)
		if n := junk() - before; n != 0 {
			t.Fatalf("%s: %d of the client's packets reached the monitor, want none", when, n)
		}
	}

	reaches("before any heartbeat", true, 0, 0)
	heartbeat("192.0.2.1", "192.0.2.2", 9, 1)
	reaches("before a heartbeat on the public link", true, 0, 0)
	heartbeat(host, "198.51.100.2", 9, 2)
	reaches("after the host address was heard", false, 9, 3)
	heartbeat("192.0.2.1", "192.0.2.2", 10, 1) // heartbeatd started again
	reaches("after a new epoch", true, 0, 0)
	heartbeat(host, "198.51.100.2", 10, 2)
	reaches("after the new epoch was heard on the public link", false, 10, 3)
}
