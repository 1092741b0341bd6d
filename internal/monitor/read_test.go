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

// Packets that queue up while failoverd is busy are all read, also more
// than one read call takes, and the next packet after them still wakes
// the reader. Loopback only; no root needed.
func TestEveryQueuedPacketIsRead(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := free.LocalAddr().(*net.UDPAddr).Port
	free.Close()
	m, err := Listen(Config{Port: uint16(port), Links: []string{"lo"}, Peers: []netip.Addr{lo},
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
	c, err := net.Dial("udp4", netip.AddrPortFrom(lo, uint16(port)).String())
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
	queued := 3*batchSize() + 5
	send(queued) // before anything reads

	heard := make(chan Heard, queued+1)
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
