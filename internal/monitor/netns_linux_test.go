package monitor

import (
	"net"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Junk that fills one link's queue cannot crowd out another link's
// heartbeat: while nothing reads, the primary's address floods the public
// link with packets that pass the kernel's filter (they start like a
// heartbeat), then one heartbeat comes on the private link. It must be
// read. With one socket for every link, it was dropped with the queue
// full.
func TestJunkOnOneLinkCannotCrowdOutAnother(t *testing.T) {
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
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
