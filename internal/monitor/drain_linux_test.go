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

// A socket's drain stops at its count, at its time (after the batch that
// passes it, never before the first), and at an empty queue. Loopback
// only; no root needed.
func TestDrainStopsAtCountTimeAndEmptyQueue(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	s, err := newSocket(c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.UDPConn).SetReadBuffer(1 << 20)
	out, err := net.Dial("udp4", c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const queued = 200
	for range queued {
		if _, err := out.Write([]byte("IPFO junk")); err != nil {
			t.Fatal(err)
		}
	}
	var slow time.Duration
	read := 0
	each := func([]byte, int, netip.Addr) { read++; time.Sleep(slow) }
	drain := func(max int, until time.Time) int {
		t.Helper()
		n, err := s.drain(each, func() {}, max, until)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	later := time.Now().Add(time.Hour)
	if n := drain(40, later); n != 40 {
		t.Fatalf("a drain of at most 40 read %d", n)
	}
	if n := drain(1000, time.Now()); n != batch {
		t.Fatalf("a drain already out of time read %d, want its first batch (%d)", n, batch)
	}
	// 1 ms a packet: the first batch ends past 20 ms, the second surely.
	slow = time.Millisecond
	timed := drain(1000, time.Now().Add(20*time.Millisecond))
	if timed != batch && timed != 2*batch {
		t.Fatalf("a drain with 20 ms read %d packets at 1 ms each, want one or two batches of %d", timed, batch)
	}
	slow = 0
	rest := drain(1000, later)
	if total := 40 + batch + timed + rest; read != total || total < 40+4*batch || rest >= 1000 {
		t.Fatalf("read %d in all, the last drain %d up to the empty queue (%d sent)", read, rest, queued)
	}
	if n := drain(1000, later); n != 0 {
		t.Fatalf("an empty queue drained %d", n)
	}
}

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
