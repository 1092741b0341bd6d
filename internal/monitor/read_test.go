package monitor

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/linksock"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Packets that queue up while failoverd is busy are all read, also more
// than a reader takes before it yields, with nothing more arriving; and
// the next packet after them still wakes the reader. Loopback only; no root needed.
func TestEveryQueuedPacketIsRead(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	m, port := loopbackMonitor(t)
	c, err := net.Dial("udp4", netip.AddrPortFrom(lo, port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seq := uint64(0)
	send := func(n int) {
		for range n {
			seq++
			p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 7, Seq: seq, Interval: time.Second, SentAt: time.Now()}
			b, err := wire.NewKeyring().Seal(&p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	queued := 3*linksock.ReadsAtOnce() + 5 // more than one read takes, and more than a reader takes before it yields
	send(queued)                           // before anything reads

	heard := runMonitor(t, m, queued+1)
	next := uint64(1)
	expect := func(upTo uint64) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for next <= upTo {
			select {
			case h := <-heard:
				if h.Packet.Seq != next || h.Link != "lo" {
					t.Fatalf("got seq %d on %q, want seq %d on lo", h.Packet.Seq, h.Link, next)
				}
				next++
			case <-deadline:
				t.Fatalf("read %d of %d packets", next-1, upTo)
			}
		}
	}
	expect(uint64(queued))
	send(1) // the queue was emptied: one more packet must wake the reader
	expect(uint64(queued) + 1)
}
