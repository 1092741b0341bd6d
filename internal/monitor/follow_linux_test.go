package monitor

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// A link's interface deleted and made again under its name (a bond or
// VLAN recreated, the network configuration restarted) must carry
// heartbeats again within a few seconds, without a restart. The socket
// bound to the old interface's index heard nothing on the new one: with
// every link made again, failoverd heard no heartbeat from a live
// primary and went after its addresses. The socket keeps the filter its
// link's state asks for (here: closed to the subnet once the primary's
// host address was heard), not the one it started with; while a link's
// interface is missing, the socket for the other interfaces must leave
// the made-again link's packets to that link's socket, so that each
// heartbeat is heard once and a client's junk does not get around the
// link's filter through it.
func TestALinkMadeAgainCarriesHeartbeats(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{{"every link there", nil}, {"a link missing", []string{"nosuch0"}}} {
		t.Run(tc.name, func(t *testing.T) {
			kr := key(t, "0123456789abcdef0123")
			s1, s2, m := twoServersNS(t, kr, func(c *Config) {
				c.Links = append(c.Links, tc.extra...)
				c.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
			})
			const host, client = "198.51.100.11", "198.51.100.100"
			addrs := func() {
				s1.MustRun("ip", "addr", "add", host+"/24", "dev", "pub0")
				s1.MustRun("ip", "addr", "add", client+"/24", "dev", "pub0")
			}
			addrs()
			heard := runMonitorIn(t, s2, m, 1000)
			seq := uint64(0)
			// beat broadcasts a heartbeat from the primary's host address
			// on pub0, as heartbeatd does, and says whether it was heard
			// within wait.
			beat := func(wait time.Duration) bool {
				t.Helper()
				seq++
				sendFrom(t, s1, host, "198.51.100.255", packet(t, kr, 9, seq, time.Now()), 1)
				timeout := time.After(wait)
				for {
					select {
					case h := <-heard:
						if h.Link == "pub0" && h.Packet.Seq == seq {
							return true
						}
					case <-timeout:
						return false
					}
				}
			}
			// The primary's own address on priv0 vouches for its epoch:
			// then its host address counts on pub0.
			sendFrom(t, s1, "192.0.2.1", "192.0.2.255", packet(t, kr, 9, 1, time.Now()), 1)
			seq = 1
			if !lab.WaitFor(3*time.Second, func() bool { return beat(100 * time.Millisecond) }) {
				t.Fatalf("before pub0 was made again: nothing heard on it; stats %v", m.Stats())
			}

			// Made again: new indexes, the same names and addresses.
			s2.MustRun("ip", "link", "del", "pub0")
			s1.MustRun("ip", "link", "add", "pub0", "index", "1990", "type", "veth", "peer", "name", "pub0", "index", "1991", "netns", s2.Name)
			s1.MustRun("ip", "link", "set", "pub0", "up")
			s2.MustRun("ip", "link", "set", "pub0", "up")
			s1.Addr("pub0", "198.51.100.1/24")
			s2.Addr("pub0", "198.51.100.2/24")
			addrs()
			made := time.Now()
			if !lab.WaitFor(3*time.Second, func() bool { return beat(100 * time.Millisecond) }) {
				t.Fatalf("after pub0 was made again: no heartbeat heard on it within 3s; stats %v", m.Stats())
			}
			t.Logf("heard on pub0 again %v after it was made again", time.Since(made).Round(time.Millisecond))

			// Each heartbeat is heard once: none dropped as a replay
			// from a second socket.
			before := m.Stats()["pub0"]
			const n = 3
			for range n {
				if !beat(2 * time.Second) {
					t.Fatalf("a heartbeat on pub0 made again was not heard; stats %v", m.Stats())
				}
			}
			if !lab.Stays(300*time.Millisecond, func() bool {
				st := m.Stats()["pub0"]
				return st.Received == before.Received+n && st.Dropped[wire.DropReplay] == before.Dropped[wire.DropReplay] && len(heard) == 0
			}) {
				t.Errorf("a heartbeat came twice: pub0 %+v, before them %+v", m.Stats()["pub0"], before)
			}

			// The link's filter is still the one that passes the
			// primary's addresses and its host address only: a client's
			// forged heartbeats, sent before the next heartbeat, do not
			// reach the monitor.
			junk := func() uint64 { return m.Stats()["pub0"].Dropped[wire.DropWrongPeer] }
			was := junk()
			sendFrom(t, s1, client, "198.51.100.2", packet(t, key(t, "not the key, but long enough"), 1, 1, time.Now()), 100)
			if !beat(2 * time.Second) {
				t.Fatalf("the heartbeat after the client's junk was not heard; stats %v", m.Stats())
			}
			if n := junk() - was; n != 0 {
				t.Errorf("%d of the client's 100 packets reached the monitor on pub0 made again, want none: the link's filter was lost", n)
			}
		})
	}
}

// sendFrom sends b n times from src to dst's heartbeat port in ns (dst
// may be a broadcast address).
func sendFrom(t *testing.T, ns *lab.NS, src, dst string, b []byte, n int) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1) })
	}}
	err := ns.Do(func() error {
		c, err := lc.ListenPacket(context.Background(), "udp4", src+":0")
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
