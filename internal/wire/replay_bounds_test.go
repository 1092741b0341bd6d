package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The replay guard's limits, each at its edge: a packet exactly at a
// bound is accepted and one a nanosecond past it is refused. A guard that
// moved a bound by a nanosecond either way would let a replay in or keep
// a live heartbeat out.

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

func pkt(epoch, seq uint64, interval time.Duration, sent time.Time) *Packet {
	return &Packet{Type: Heartbeat, Sender: "server1", Epoch: epoch, Seq: seq, Interval: interval, SentAt: sent}
}

// A new epoch is taken on only if its send time is within the freshness
// window of now, on either side.
func TestReplayGuardFreshnessEdges(t *testing.T) {
	const f = 10 * time.Second
	for _, c := range []struct {
		sent time.Time
		want error
	}{
		{t0.Add(-f), nil},
		{t0.Add(-f - 1), ErrStaleEpoch},
		{t0.Add(f), nil},
		{t0.Add(f + 1), ErrStaleEpoch},
	} {
		g := NewReplayGuard(f)
		if err := g.Check(pkt(1, 1, time.Second, c.sent), 0, t0); !errors.Is(err, c.want) && err != c.want {
			t.Errorf("sent %v from now: %v, want %v", c.sent.Sub(t0), err, c.want)
		}
	}
}

// Within an epoch, a packet sent more than maxDelay (4 intervals, 1 s at
// least) before the latest one accepted is refused; at maxDelay it is
// not. The same for a packet that arrives maxDelay later than the best
// path's offset.
func TestReplayGuardDelayEdges(t *testing.T) {
	const iv = 500 * time.Millisecond // maxDelay 2 s
	for _, c := range []struct {
		behind time.Duration
		want   error
	}{{2 * time.Second, nil}, {2*time.Second + 1, ErrDelayed}} {
		g := NewReplayGuard(0)
		if err := g.Check(pkt(1, 10, iv, t0), 0, t0); err != nil {
			t.Fatal(err)
		}
		// Sent behind the latest, arriving with the best path's offset.
		sent := t0.Add(-c.behind)
		if err := g.Check(pkt(1, 9, iv, sent), 1, sent); !errors.Is(err, c.want) && err != c.want {
			t.Errorf("sent %v before the latest: %v, want %v", c.behind, err, c.want)
		}
	}
	// The next packet, sent at the same instant by the sender's clock
	// (so not behind the latest), arrives late over the best path. The
	// best path's offset creeps by 100 ppm of the time since it was
	// seen: late L passes while L <= 2 s + L/10000.
	for _, c := range []struct {
		late time.Duration
		want error
	}{
		{2*time.Second + 200*time.Microsecond, nil},
		{2*time.Second + 200020*time.Nanosecond, nil}, // exactly 2 s + L/10000 (rounded down)
		{2*time.Second + 200021*time.Nanosecond, ErrDelayed},
		{2*time.Second + 201*time.Microsecond, ErrDelayed},
	} {
		g := NewReplayGuard(0)
		if err := g.Check(pkt(1, 1, iv, t0), 0, t0); err != nil {
			t.Fatal(err)
		}
		if err := g.Check(pkt(1, 2, iv, t0), 0, t0.Add(c.late)); !errors.Is(err, c.want) && err != c.want {
			t.Errorf("%v later than the best path: %v, want %v", c.late, err, c.want)
		}
	}
}

// A new epoch's first packet may be sent up to clockStep (1 s) before
// the current epoch's latest one (a clock stepped back across the
// sender's restart); a nanosecond more and it is an old recording.
func TestReplayGuardClockStepEdge(t *testing.T) {
	for _, c := range []struct {
		behind time.Duration
		want   error
	}{{clockStep, nil}, {clockStep + 1, ErrEpochBehind}} {
		g := NewReplayGuard(0)
		g.Restore([]SenderRecord{{Sender: "server1", Epoch: 1, Top: 5, LastSent: t0}}, t0)
		if err := g.Check(pkt(2, 1, time.Second, t0.Add(-c.behind)), 0, t0.Add(10*time.Millisecond)); !errors.Is(err, c.want) && err != c.want {
			t.Errorf("new epoch sent %v before the latest: %v, want %v", c.behind, err, c.want)
		}
	}
}

// A sender name of MaxSenderLen bytes, the longest the wire carries, is
// restored like any other; one byte more could not have been recorded.
func TestReplayGuardRestoresTheLongestSenderName(t *testing.T) {
	name := strings.Repeat("s", MaxSenderLen)
	g := NewReplayGuard(0)
	g.Restore([]SenderRecord{{Sender: name, Epoch: 2, Top: 5, LastSent: t0, Retired: []uint64{1}}}, t0)
	p := pkt(1, 9, time.Second, t0.Add(time.Second))
	p.Sender = name
	if err := g.Check(p, 0, t0.Add(time.Second)); !errors.Is(err, ErrRetired) {
		t.Fatalf("the retired epoch of a %d-byte sender after a restore: %v, want %v", MaxSenderLen, err, ErrRetired)
	}
}

// A sequence number never seen below the highest (lost on every link, or
// overtaken) is accepted up to window-1 below it, and only within the
// spread of the highest's arrival; window below, or a nanosecond later,
// it is refused. (gremlins counts these switch cases as not covered:
// checked by hand.)
func TestReplayGuardBelowTheHighestEdges(t *testing.T) {
	for _, c := range []struct {
		below uint64
		after time.Duration
		want  error
	}{
		{window - 1, time.Millisecond, nil},
		{window, time.Millisecond, ErrReplay},
		{1, time.Second, nil}, // spread is the interval, 1 s
		{1, time.Second + 1, ErrReplay},
	} {
		g := NewReplayGuard(0)
		if err := g.Check(pkt(1, 100, time.Second, t0), 0, t0); err != nil {
			t.Fatal(err)
		}
		if err := g.Check(pkt(1, 100-c.below, time.Second, t0.Add(-time.Millisecond)), 1, t0.Add(c.after)); err != c.want {
			t.Errorf("%d below the highest, %v after it: %v, want %v", c.below, c.after, err, c.want)
		}
	}
}

// A copy of a packet on another link is accepted within the spread (the
// interval, 50 ms at least, 1 s at most) of its first arrival, and is a
// replay after it.
func TestReplayGuardSpreadEdges(t *testing.T) {
	for _, c := range []struct {
		interval, after time.Duration
		want            error
	}{
		{10 * time.Millisecond, 50 * time.Millisecond, nil}, // at least 50 ms, whatever the interval
		{10 * time.Millisecond, 50*time.Millisecond + 1, ErrReplay},
		{200 * time.Millisecond, 200 * time.Millisecond, nil},
		{200 * time.Millisecond, 200*time.Millisecond + 1, ErrReplay},
		{5 * time.Second, time.Second, nil}, // at most 1 s
		{5 * time.Second, time.Second + 1, ErrReplay},
	} {
		g := NewReplayGuard(0)
		p := pkt(1, 1, c.interval, t0)
		if err := g.Check(p, 0, t0); err != nil {
			t.Fatal(err)
		}
		if err := g.Check(pkt(1, 1, c.interval, t0), 1, t0.Add(c.after)); err != c.want {
			t.Errorf("interval %v, the copy %v after: %v, want %v", c.interval, c.after, err, c.want)
		}
	}
}

// The guard counts what it takes on and accepts (Changes), so that the
// replay state is written only when it moved; a copy refused counts for
// nothing.
func TestReplayGuardCounts(t *testing.T) {
	g := NewReplayGuard(0)
	for i, want := range [][2]uint64{{1, 1}, {1, 2}, {1, 3}} {
		if err := g.Check(pkt(1, uint64(i+1), time.Second, t0.Add(time.Duration(i)*time.Second)), 0, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if a, b := g.Changes(); a != want[0] || b != want[1] {
			t.Fatalf("after %d packets: adopted %d, accepted %d; want %d, %d", i+1, a, b, want[0], want[1])
		}
	}
	_ = g.Check(pkt(1, 3, time.Second, t0.Add(2*time.Second)), 0, t0.Add(2*time.Second)) // a replay
	if a, b := g.Changes(); a != 1 || b != 3 {
		t.Fatalf("after a replay: adopted %d, accepted %d; want 1, 3", a, b)
	}
	if err := g.Check(pkt(2, 1, time.Second, t0.Add(3*time.Second)), 0, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a, b := g.Changes(); a != 2 || b != 4 {
		t.Fatalf("after a new epoch: adopted %d, accepted %d; want 2, 4", a, b)
	}
}

// The guard remembers the last retiredEpochs epochs a sender left
// behind: the oldest of them is still refused as retired.
func TestReplayGuardRemembersEnoughRetiredEpochs(t *testing.T) {
	g := NewReplayGuard(0)
	at := t0
	for e := uint64(1); e <= retiredEpochs+1; e++ {
		at = at.Add(time.Second)
		if err := g.Check(pkt(e, 1, time.Second, at), 0, at); err != nil {
			t.Fatalf("epoch %d: %v", e, err)
		}
	}
	// Epochs 1 to retiredEpochs are retired; 1 is the oldest kept.
	if err := g.Check(pkt(1, 2, time.Second, at), 0, at); err != ErrRetired {
		t.Fatalf("the oldest retired epoch: %v, want %v", err, ErrRetired)
	}
}

// A key of exactly MinKeyLen bytes is a key; one byte less is refused.
func TestKeyLengthEdge(t *testing.T) {
	if _, err := NewKey(make([]byte, MinKeyLen), "k"); err != nil {
		t.Fatalf("%d bytes: %v", MinKeyLen, err)
	}
	if _, err := NewKey(make([]byte, MinKeyLen-1), "k"); err == nil {
		t.Fatalf("%d bytes accepted", MinKeyLen-1)
	}
}

// The interval travels in whole milliseconds in 32 bits: 1 ms and the
// largest such count encode, zero and one more do not.
func TestIntervalRangeEdges(t *testing.T) {
	max := time.Duration(^uint32(0)) * time.Millisecond
	for _, c := range []struct {
		iv time.Duration
		ok bool
	}{{time.Millisecond, true}, {max, true}, {time.Millisecond - 1, false}, {max + time.Millisecond, false}} {
		_, err := Encode(&Packet{Type: Heartbeat, Sender: "server1", Epoch: 1, Seq: 1, Interval: c.iv, SentAt: t0})
		if (err == nil) != c.ok {
			t.Errorf("interval %v: %v", c.iv, err)
		}
	}
}
