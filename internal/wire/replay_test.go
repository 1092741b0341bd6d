package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// beats is a sender's run: one heartbeat every interval from start, for
// d, in epoch, sequence numbers from 1.
func beats(epoch uint64, start time.Time, interval, d time.Duration) []*Packet {
	var out []*Packet
	for i := range uint64(d / interval) {
		out = append(out, &Packet{Type: Heartbeat, Sender: "server1", Epoch: epoch, Seq: i + 1, Interval: interval, SentAt: start.Add(time.Duration(i) * interval)})
	}
	return out
}

// The attack of issue 21, item 3, at a 100 ms interval: 8 s of epoch 1
// are recorded; heartbeatd is killed and restarted (epoch 2) and
// failoverd restarted; the recording, replayed from 20 s after it began,
// interleaved with the live heartbeats, must neither be accepted nor cost
// one live heartbeat. The guard used to adopt the recorded epoch, being
// fresh, and then refuse every live heartbeat as a replaced epoch.
func TestReplayGuardRefusesRecordingOfEarlierEpoch(t *testing.T) {
	const interval = 100 * time.Millisecond
	t0 := time.Unix(1_700_000_000, 0)
	recording := beats(1, t0, interval, 8*time.Second)
	restart := t0.Add(10 * time.Second) // epoch 1 ran on to 10 s, killed there
	live := beats(2, restart.Add(1500*time.Millisecond), interval, 25*time.Second)

	g := NewReplayGuard(0) // the restarted failoverd, remembering nothing
	arrive := func(p *Packet) time.Time { return p.SentAt.Add(time.Millisecond) }
	replayFrom := t0.Add(20 * time.Second)
	var liveAccepted, liveRefused, recordingAccepted int
	r := 0
	for _, p := range live {
		now := arrive(p)
		for r < len(recording) && !replayFrom.Add(recording[r].SentAt.Sub(t0)).After(now) {
			at := replayFrom.Add(recording[r].SentAt.Sub(t0))
			if err := g.Check(recording[r], 1, at); err == nil {
				recordingAccepted++
			} else if ReasonOf(err) != DropStaleEpoch && ReasonOf(err) != DropReplay {
				t.Fatalf("recorded packet %d at %v: %v", recording[r].Seq, at.Sub(t0), err)
			}
			r++
		}
		if err := g.Check(p, 1, now); err != nil {
			liveRefused++
			if liveRefused == 1 {
				t.Errorf("live packet %d at %v refused: %v", p.Seq, now.Sub(t0), err)
			}
		} else {
			liveAccepted++
		}
	}
	if r != len(recording) {
		t.Fatalf("replayed %d of %d", r, len(recording))
	}
	t.Logf("live: %d accepted, %d refused; recording: %d of %d accepted", liveAccepted, liveRefused, recordingAccepted, len(recording))
	if liveRefused > 0 || recordingAccepted > 0 {
		t.Fatalf("%d live heartbeats refused, %d recorded ones accepted", liveRefused, recordingAccepted)
	}
}

// A failoverd restarted with the guard's records (its state file) and the
// recording replayed before it hears the live heartbeatd: the recorded
// epoch was left behind before the restart and stays refused, and the
// live one goes on where it was.
func TestReplayGuardRestoredRefusesRetiredEpoch(t *testing.T) {
	const interval = 100 * time.Millisecond
	t0 := time.Unix(1_700_000_000, 0)
	recording := beats(1, t0, interval, 8*time.Second)
	live := beats(2, t0.Add(11500*time.Millisecond), interval, 10*time.Second)

	before := NewReplayGuard(0) // heard epoch 1, then 2 for 3 s
	for _, p := range append(beats(1, t0, interval, 10*time.Second), live[:30]...) {
		if err := before.Check(p, 0, p.SentAt); err != nil {
			t.Fatalf("before the restart, packet %d of epoch %d: %v", p.Seq, p.Epoch, err)
		}
	}
	recs := before.Records()
	if len(recs) != 1 || recs[0].Epoch != 2 || recs[0].Top != 30 || !recs[0].LastSent.Equal(live[29].SentAt) || fmt.Sprint(recs[0].Retired) != "[1]" {
		t.Fatalf("records %+v", recs)
	}

	g := NewReplayGuard(0)
	g.Restore(recs, live[31].SentAt)
	replayAt := t0.Add(15 * time.Second)
	for _, p := range recording {
		at := replayAt.Add(p.SentAt.Sub(t0))
		if err := g.Check(p, 1, at); !errors.Is(err, ErrRetired) {
			t.Fatalf("recorded packet %d replayed after the restart: %v, want %v", p.Seq, err, ErrRetired)
		}
	}
	// Live packets the guard accepted before the restart are replays.
	if err := g.Check(live[29], 0, replayAt); !errors.Is(err, ErrReplay) && !errors.Is(err, ErrDelayed) {
		t.Fatalf("live packet 30 again after the restart: %v", err)
	}
	for _, p := range live[31:] {
		if err := g.Check(p, 0, p.SentAt.Add(time.Millisecond)); err != nil {
			t.Fatalf("live packet %d after the restart: %v", p.Seq, err)
		}
	}
}

// With records taken before the live epoch was heard (the last write
// before a crash), a recording of the epoch they name, sent after they
// were taken, is what a restarted failoverd cannot tell from the live
// sender: it is accepted, until the live epoch's next heartbeat, later
// than all of it, replaces it. From then on no live heartbeat is lost.
func TestReplayGuardRestoredLiveEpochWins(t *testing.T) {
	const interval = 100 * time.Millisecond
	t0 := time.Unix(1_700_000_000, 0)
	e1 := beats(1, t0, interval, 8*time.Second)
	before := NewReplayGuard(0)
	for _, p := range e1[:20] {
		if err := before.Check(p, 0, p.SentAt); err != nil {
			t.Fatal(err)
		}
	}
	g := NewReplayGuard(0)
	g.Restore(before.Records(), t0.Add(10*time.Second))
	now := t0.Add(12 * time.Second)
	if err := g.Check(e1[10], 1, now); !errors.Is(err, ErrReplay) && !errors.Is(err, ErrDelayed) {
		t.Fatalf("a recorded packet the records cover: %v", err)
	}
	if err := g.Check(e1[20], 1, now); err != nil {
		t.Fatalf("a recorded packet after the records: %v (accepted: nothing tells it from the sender)", err)
	}
	live := beats(2, t0.Add(11*time.Second), interval, 3*time.Second)
	for i, p := range live {
		if err := g.Check(p, 0, p.SentAt.Add(time.Millisecond)); err != nil {
			t.Fatalf("live packet %d: %v", p.Seq, err)
		}
		if i < len(e1)-21 {
			if err := g.Check(e1[21+i], 1, p.SentAt.Add(2*time.Millisecond)); err == nil {
				t.Fatalf("recorded packet %d accepted after the live epoch", e1[21+i].Seq)
			}
		}
	}
}

// Within an epoch, a packet signed long before the latest accepted one
// was held back and is refused, also when the guard was restored and has
// no arrival of the epoch to compare with yet.
func TestReplayGuardRefusesPacketFarBehindLatest(t *testing.T) {
	const interval = 100 * time.Millisecond
	t0 := time.Unix(1_700_000_000, 0)
	run := beats(1, t0, interval, 20*time.Second)
	g := NewReplayGuard(0)
	g.Restore([]SenderRecord{{Sender: "server1", Epoch: 1, Top: 100, LastSent: run[150].SentAt}}, t0)
	// Packet 120: above the highest sequence number, but signed 3 s
	// before the latest send time.
	if err := g.Check(run[119], 0, run[160].SentAt); !errors.Is(err, ErrDelayed) {
		t.Fatalf("packet signed 3 s before the latest: %v, want %v", err, ErrDelayed)
	}
	// One signed less than a second before the latest is a reordering.
	if err := g.Check(run[145], 0, run[150].SentAt); err != nil {
		t.Fatalf("packet signed 0.5 s before the latest: %v", err)
	}
	if err := g.Check(run[151], 0, run[151].SentAt); err != nil {
		t.Fatalf("the next packet: %v", err)
	}
}

// A new epoch must not be older than the current one's latest packet,
// less a clock step of a second; a latest send time ahead of this host's
// clock holds no fresh epoch out.
func TestReplayGuardNewEpochMovesForward(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	p := func(epoch uint64, sent time.Time) *Packet {
		return &Packet{Type: Heartbeat, Sender: "server1", Epoch: epoch, Seq: 1, Interval: time.Second, SentAt: sent}
	}
	cases := []struct {
		name     string
		lastSent time.Time // of epoch 1
		sent     time.Time // epoch 2's first
		want     error
	}{
		{"later", t0, t0.Add(time.Second), nil},
		{"clock stepped back 0.9 s across the restart", t0, t0.Add(-900 * time.Millisecond), nil},
		{"sent 1.5 s before the latest", t0, t0.Add(-1500 * time.Millisecond), ErrEpochBehind},
		{"sent 20 s before the latest", t0, t0.Add(-20 * time.Second), ErrEpochBehind},
		{"latest a year ahead of this clock", t0.AddDate(1, 0, 0), t0, nil},
	}
	for _, c := range cases {
		g := NewReplayGuard(0)
		g.Restore([]SenderRecord{{Sender: "server1", Epoch: 1, Top: 5, LastSent: c.lastSent}}, t0)
		err := g.Check(p(2, c.sent), 0, t0.Add(10*time.Millisecond))
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "before the latest packet of epoch 1") {
			t.Errorf("%s: the error says nothing of how far behind: %v", c.name, err)
		}
		if ReasonOf(err) != DropStaleEpoch && err != nil {
			t.Errorf("%s: counted as %s", c.name, ReasonOf(err))
		}
	}
}

// Restore keeps to what the guard could have made itself: at most
// maxSenders senders, retiredEpochs retired epochs each, valid names.
func TestReplayGuardRestoreBounds(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var recs []SenderRecord
	for i := range 40 {
		r := SenderRecord{Sender: fmt.Sprintf("s%d", i), Epoch: 100, Top: 1, LastSent: now}
		for e := range uint64(50) {
			r.Retired = append(r.Retired, e)
		}
		recs = append(recs, r)
	}
	recs = append([]SenderRecord{{Sender: ""}, {Sender: strings.Repeat("x", MaxSenderLen+1)}, {Sender: "\xff"}}, recs...)
	g := NewReplayGuard(0)
	g.Restore(recs, now)
	if len(g.senders) != maxSenders {
		t.Fatalf("%d senders restored", len(g.senders))
	}
	for name, s := range g.senders {
		if !strings.HasPrefix(name, "s") || len(s.retired) != retiredEpochs || s.retired[retiredEpochs-1] != 49 {
			t.Fatalf("sender %q: %d retired epochs, last %v", name, len(s.retired), s.retired)
		}
	}
	// The latest of the retired epochs is refused; an older one was
	// dropped to keep the bound.
	if err := g.Check(&Packet{Sender: "s0", Epoch: 49, Seq: 1, Interval: time.Second, SentAt: now.Add(time.Second)}, 0, now.Add(time.Second)); !errors.Is(err, ErrRetired) {
		t.Fatalf("retired epoch 49: %v", err)
	}
}

// After a restore the guard has no arrival of the epoch to compare with;
// the first packet that comes gives it the best path again, and a packet
// held back behind it is refused as before the restart.
func TestReplayGuardRestoredRefusesHeldBackPacketsAgain(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	run := beats(1, t0, time.Second, 20*time.Second)
	g := NewReplayGuard(0)
	g.Restore([]SenderRecord{{Sender: "server1", Epoch: 1, Top: 10, LastSent: run[9].SentAt}}, run[10].SentAt)
	if err := g.Check(run[10], 0, run[10].SentAt.Add(10*time.Millisecond)); err != nil {
		t.Fatalf("the first packet after the restore: %v", err)
	}
	// Packet 12, held back 5 s (maxDelay is 4 s at a 1 s interval).
	if err := g.Check(run[11], 0, run[11].SentAt.Add(5*time.Second)); !errors.Is(err, ErrDelayed) {
		t.Fatalf("a packet held back 5 s after the restore: %v, want %v", err, ErrDelayed)
	}
}

// The best path is the fastest packet's, not the latest's: one that came
// slowly (a receiver busy for 3 s) does not let a later one through that
// was held back longer than maxDelay behind the best.
func TestReplayGuardASlowPacketDoesNotWidenTheDelayAllowed(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	run := beats(1, t0, time.Second, 10*time.Second)
	g := NewReplayGuard(0)
	for _, c := range []struct {
		p     *Packet
		after time.Duration
		want  error
	}{
		{run[0], 10 * time.Millisecond, nil},
		{run[1], 3 * time.Second, nil},                // read late, within 4 s of the best path
		{run[2], 4500 * time.Millisecond, ErrDelayed}, // held back 4.5 s
	} {
		if err := g.Check(c.p, 0, c.p.SentAt.Add(c.after)); !errors.Is(err, c.want) && err != c.want {
			t.Fatalf("packet %d, %v after it was sent: %v, want %v", c.p.Seq, c.after, err, c.want)
		}
	}
}

// With the window full, the newest sequence number makes the guard
// forget the oldest, never the one just before it: that one replayed at
// once on its own link is refused.
func TestReplayGuardFullWindowForgetsTheOldest(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	run := beats(1, t0, 100*time.Millisecond, (window+1)*100*time.Millisecond)
	g := NewReplayGuard(0)
	for _, p := range run {
		if err := g.Check(p, 0, p.SentAt.Add(time.Millisecond)); err != nil {
			t.Fatalf("packet %d: %v", p.Seq, err)
		}
	}
	last := run[len(run)-1]
	for _, p := range []*Packet{run[len(run)-2], run[len(run)-3]} {
		if err := g.Check(p, 0, last.SentAt.Add(2*time.Millisecond)); !errors.Is(err, ErrReplay) {
			t.Errorf("packet %d replayed on its link just after packet %d: %v, want %v", p.Seq, last.Seq, err, ErrReplay)
		}
	}
}

// A second sender (a standby's heartbeats, a second primary) has its own
// state beside the first's: the first's packets replayed after it are
// still refused.
func TestReplayGuardRemembersEachSender(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	run := beats(1, t0, time.Second, 3*time.Second)
	g := NewReplayGuard(0)
	for _, p := range run {
		if err := g.Check(p, 0, p.SentAt.Add(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	other := *run[2]
	other.Sender, other.Epoch = "server3", 9
	if err := g.Check(&other, 0, other.SentAt.Add(2*time.Millisecond)); err != nil {
		t.Fatalf("the second sender: %v", err)
	}
	if err := g.Check(run[1], 0, run[2].SentAt.Add(3*time.Millisecond)); !errors.Is(err, ErrReplay) {
		t.Fatalf("the first sender's packet 2 replayed after the second sender was heard: %v, want %v", err, ErrReplay)
	}
}
