package lab

import (
	"slices"
	"testing"
	"time"
)

// The watch sees who answers as the address moves: server1 alone, then
// server1 and server2 at once, then server2 alone; and its own asking
// leaves the client's neighbour entry where announcements put it.
func TestARPWatchSeesEveryOwner(t *testing.T) {
	p := NewPair(t)
	m1, m2 := MAC(t, p.S1, "pub0"), MAC(t, p.S2, "pub0")
	// The client resolves server1's address the usual way first.
	Serve(t, p.S1, 7, "server1")
	probe := StartProbe(t, p.Client, Server1Pub, 7, 10*time.Millisecond)
	if !WaitFor(5*time.Second, func() bool { return probe.Last() == "server1" }) {
		t.Fatal("the client never reached server1")
	}
	probe.Stop()

	w := StartARPWatch(t, p.Client, "eth0", Server1Pub, 5*time.Millisecond)
	// answeredBy waits until the last n rounds since from were each
	// answered by exactly macs.
	answeredBy := func(from time.Time, macs ...string) bool {
		return WaitFor(5*time.Second, func() bool {
			var rs []Round
			for _, r := range w.Rounds() {
				if !r.At.Before(from) {
					rs = append(rs, r)
				}
			}
			if len(rs) < 10 {
				return false
			}
			for _, r := range rs[len(rs)-10:] {
				got := slices.Sorted(slices.Values(r.MACs))
				if !slices.Equal(got, macs) {
					return false
				}
			}
			return true
		})
	}
	start := time.Now()
	if !answeredBy(start, m1) {
		t.Fatalf("rounds not answered by server1 (%s) alone: %v", m1, w.Owners(start, time.Now()))
	}
	if n, span := w.Dual(start, time.Now()); n != 0 || span != 0 {
		t.Errorf("one owner, yet %d dual rounds spanning %v", n, span)
	}

	both := time.Now()
	p.S2.MustRun("ip", "addr", "add", Server1Pub+PubNet, "dev", "pub0")
	if !answeredBy(both, slices.Sorted(slices.Values([]string{m1, m2}))...) {
		t.Fatalf("rounds not answered by both %s and %s: %v", m1, m2, w.Owners(both, time.Now()))
	}
	n, span := w.Dual(both, time.Now())
	if n < 10 || span < 10*5*time.Millisecond {
		t.Errorf("both answered, yet Dual says %d rounds spanning %v", n, span)
	}

	moved := time.Now()
	p.S1.MustRun("ip", "addr", "del", Server1Pub+PubNet, "dev", "pub0")
	if !answeredBy(moved, m2) {
		t.Fatalf("rounds not answered by server2 (%s) alone: %v", m2, w.Owners(moved, time.Now()))
	}
	if got := w.Owners(start, time.Now()); !slices.Equal(got, slices.Sorted(slices.Values([]string{m1, m2}))) {
		t.Errorf("Owners over the whole test: %v, want %s and %s", got, m1, m2)
	}
	// Nobody announced the move, so the client still goes to server1:
	// the watch's answers went to a MAC of its own, not to the client.
	if got := Neighbour(p.Client, "eth0", Server1Pub); got != m1 {
		t.Errorf("the client's neighbour entry for %s moved to %q with the watch's answers; want server1's %s", Server1Pub, got, m1)
	}
}
