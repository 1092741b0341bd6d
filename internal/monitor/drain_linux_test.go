package monitor

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Monitor.Drain returns while a flood keeps a queue from ever emptying:
// failoverd calls it before each decision. Heartbeats come faster than
// they are delivered (each delivery waits a millisecond, as a daemon busy
// with its lock may), and Drain takes a bounded share of them. It read
// until the queue was empty, which under this flood is never. Loopback
// only; no root needed.
func TestDrainIsBoundedUnderAFlood(t *testing.T) {
	m, port := loopbackMonitor(t)
	defer m.Close()
	out, err := net.Dial("udp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stop := make(chan struct{})
	flooding := make(chan struct{})
	var sent atomic.Int64
	go func() {
		defer close(flooding)
		end := time.Now().Add(10 * time.Second)
		for seq := uint64(1); time.Now().Before(end); seq++ {
			select {
			case <-stop:
				return
			default:
			}
			p := wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: 7, Seq: seq, Interval: time.Second, SentAt: time.Now()}
			b, _ := wire.NewKeyring().Seal(&p)
			if _, err := out.Write(b); err == nil {
				sent.Add(1)
			}
		}
	}()
	defer func() { close(stop); <-flooding }()
	if !lab.WaitFor(5*time.Second, func() bool {
		n := 0
		m.Drain(func(hs []Heard) { n += len(hs) })
		return n > 0
	}) {
		t.Fatal("the flood never reached the socket")
	}
	// More queued than a drain may take (nothing reads but Drain).
	from := sent.Load()
	if !lab.WaitFor(5*time.Second, func() bool { return sent.Load()-from > 2*drainPackets }) {
		t.Fatal("the flood stopped")
	}
	var delivered atomic.Int64
	start := time.Now()
	m.Drain(func(hs []Heard) { delivered.Add(int64(len(hs))); time.Sleep(time.Millisecond) })
	took := time.Since(start)
	if n := delivered.Load(); n == 0 || n > drainPackets {
		t.Fatalf("Drain delivered %d heartbeats, want 1 to %d", n, drainPackets)
	}
	// Its time and a batch delivered late on each socket: a few ms,
	// where an unbounded drain lasts for the flood's 10 s.
	if took > time.Second {
		t.Fatalf("Drain took %v under a flood", took)
	}
	t.Logf("Drain under a flood: %d heartbeats in %v", delivered.Load(), took.Round(time.Microsecond))
}
