package neighbor

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Drain stops at its count, at its time (after the frame that passes it,
// never before the first), and at an empty queue: anyone on the link can
// send frames that name a watched address faster than they are read,
// and the decision that drains first must not wait for the flood to end.
// server1 queues 300 announcements of its address at server2's asker,
// which nothing else reads.
func TestDrainStopsAtCountTimeAndEmptyQueue(t *testing.T) {
	p := lab.NewPair(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var la *linkAsker
	must(p.S2.Do(func() (err error) {
		la, err = newLinkAsker([]netip.Addr{netip.MustParseAddr(lab.Server1Pub)}, nil)
		return err
	}))
	defer la.Close()
	var slow time.Duration
	reported := 0
	r := &reporter{links: la.links, listed: time.Now(), answer: func(Answer) { reported++; time.Sleep(slow) }}
	must(r.list())
	la.rep.Store(r) // as Run does, without Run

	const queued = 300
	must(p.S1.Do(func() error {
		ifi, err := net.InterfaceByName("pub0")
		if err != nil {
			return err
		}
		frame, err := GratuitousARP(ARPRequest, ifi.HardwareAddr, netip.MustParseAddr(lab.Server1Pub))
		if err != nil {
			return err
		}
		fd, err := openPacketSocket(0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for range queued {
			if err := unix.Sendto(fd, frame, 0, arpBroadcast(ifi)); err != nil {
				return err
			}
		}
		return nil
	}))
	// The frames reach server2's socket on the sender's way out (veth
	// and bridge deliver at once); the first drain waits for the first.
	later := time.Now().Add(time.Hour)
	if !lab.WaitFor(2*time.Second, func() bool { return la.drain(1, later) == 1 }) {
		t.Fatal("no announcement reached server2")
	}
	if n := la.drain(40, later); n != 40 {
		t.Fatalf("a drain of at most 40 read %d", n)
	}
	if n := la.drain(1000, time.Now()); n != 1 {
		t.Fatalf("a drain already out of time read %d, want its first frame", n)
	}
	// 1 ms a frame: the third ends past 2 ms, surely; a busy machine may
	// end the first past it.
	slow = time.Millisecond
	timed := la.drain(1000, time.Now().Add(2*time.Millisecond))
	if timed < 1 || timed > 3 {
		t.Fatalf("a drain with 2 ms read %d frames at 1 ms each, want 1 to 3", timed)
	}
	slow = 0
	rest := la.drain(1000, later)
	if total := 1 + 40 + 1 + timed + rest; reported != total || total < 100 || rest >= 1000 {
		t.Fatalf("reported %d, read %d in all, the last drain %d up to the empty queue (%d sent)", reported, total, rest, queued)
	}
	if n := la.drain(1000, later); n != 0 {
		t.Fatalf("an empty queue drained %d", n)
	}
}
