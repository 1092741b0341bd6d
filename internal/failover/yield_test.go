package failover

import (
	"testing"
	"time"
)

const standbyMAC = "02:00:00:00:00:33"

// A standby that holds the addresses answers for them: the others stay in
// Standby, with no conflict notice and no fencing Test, however long it
// holds them, and take them once it is gone and they are free.
func TestAHoldingStandbyIsNoConflict(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 150, Holds: true, Above: true})
	tl.answers(standbyMAC, 200*time.Millisecond, tl.now.Add(30*time.Second)) // past ConflictTest (10 s)
	tl.expect(Standby)
	if st := tl.m.Status(tl.now); st.Yielding == nil || st.Yielding.To != "standby1" || !st.Yielding.Holds {
		t.Fatalf("status yields to %+v, want standby1 holding", st.Yielding)
	}
	// standby1's power goes off: its answers stop, and a timeout later
	// it is no longer heard.
	tl.tickTo(tl.now.Add(3 * time.Second))
	tl.expect(Standby)
	tl.do(Yield{At: tl.now})
	tl.tickTo(tl.now.Add(time.Second))
	tl.expect(Acquiring, "start takeover")
}

// A standby of a higher priority that is alive takes the addresses first:
// at the primary's timeout this one waits, and takes them only once that
// one is gone (not heard, or no longer able to take).
func TestAHigherStandbyTakesFirst(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 200, Above: true})
	tl.tickTo(tl.now.Add(20 * time.Second)) // the timeout is 3 s
	tl.expect(Standby)
	tl.do(Yield{At: tl.now})
	tl.tickTo(tl.now.Add(time.Second))
	tl.expect(Acquiring, "start takeover")
}

// A goodbye waits for the standby that ranks above too.
func TestAGoodbyeWaitsForAHigherStandby(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 200, Above: true})
	tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second, Goodbye: true})
	tl.do(Heartbeat{At: tl.now, Link: "pub0", Interval: time.Second, Goodbye: true})
	tl.tickTo(tl.now.Add(5 * time.Second))
	tl.expect(Standby)
}

// In a conflict (the primary silent, its address answered), a standby
// that then says it holds the addresses ends the conflict: no fencing
// Test for a host that is one of the standbys.
func TestAStandbyThatTookOverEndsTheConflict(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.answers(standbyMAC, 200*time.Millisecond, tl.now.Add(4*time.Second))
	tl.expect(Conflict, "notice conflict")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 150, Holds: true})
	tl.answers(standbyMAC, 200*time.Millisecond, tl.now.Add(20*time.Second))
	tl.expect(Standby)
}

// Two holders (a partition between the standbys healed): the one that
// ranks lower gives the addresses back at once; the higher keeps them.
func TestALowerHolderGivesBackToAHigherOne(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.tickTo(tl.now.Add(4 * time.Second))
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.do(Yield{At: tl.now, To: "standby0", Priority: 50, Holds: true})
	tl.tickTo(tl.now.Add(2 * time.Second))
	tl.expect(Active)
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 200, Holds: true, Above: true})
	tl.expect(Releasing, "start giveback")
}

// A hand-over (the primary's service fails and it gave its address up)
// while a standby that ranks above this one takes the address and holds
// it: its answers are no conflict, so no notice, no takeover here, and
// no questions at the hand-over's pace (nor a deadline that never
// moves); once it is gone and the address free, this one takes it.
func TestAHandOverToAHigherStandbyIsNoConflict(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 200, Above: true})
	tl.beatsFor(5*time.Second, false)
	tl.expect(Standby)
	tl.beatHealth(true)
	tl.expect(Standby, "notice primary-unhealthy")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 200, Holds: true, Above: true})
	for range 30 {
		tl.answers(standbyMAC, 200*time.Millisecond, tl.now.Add(time.Second))
		tl.beatHealth(true)
	}
	tl.expect(Standby)
	if every := tl.m.askEvery(); every != 0 {
		t.Fatalf("asking every %v while another standby holds the address, want no questions", every)
	}
	// standby1 is gone: its answers stop, and a timeout later it is no
	// longer heard.
	tl.tickTo(tl.now.Add(time.Second))
	tl.beatHealth(true)
	tl.do(Yield{At: tl.now})
	tl.tickTo(tl.now.Add(time.Second))
	tl.expect(Acquiring, "start takeover")
}

// Two holders (a partition between the standbys healed), seen from the
// higher one: the lower one's answers, while it is heard to hold the
// addresses too, are no conflict (it gives them back once it hears this
// host), nor once it gave them back; answers that go on after that, for
// an interval with no heartbeat, are a stranger's, and told.
func TestALowerHolderIsNoConflictForTheHigherOne(t *testing.T) {
	tl := newTimeline(t, askParams(), true)
	tl.run(time.Second)
	tl.do(Yield{At: tl.now, Lower: "standby0"})
	tl.answers(standbyMAC, 100*time.Millisecond, tl.now.Add(3*time.Second))
	tl.expect(Active)
	if st := tl.m.Status(tl.now); st.Yielding != nil {
		t.Fatalf("status yields to %+v while this host holds the addresses above standby0", st.Yielding)
	}
	// It gave them back: its last answers, a moment before, are not a
	// stranger's run of them.
	tl.do(Yield{At: tl.now})
	tl.tickTo(tl.now.Add(2 * time.Second))
	tl.expect(Active)
	// A stranger's answers, for an interval with no heartbeat: told.
	tl.answers(otherMAC, 100*time.Millisecond, tl.now.Add(1200*time.Millisecond))
	tl.expect(Active, "notice conflict")
}

// The standby that held the addresses gives them back (the primary came
// back to it, then died again before this one heard it): its answers,
// heard while it held them, are no conflict once it says it holds them
// no more; only the questions from then on tell whether anything still
// answers, and nothing does: this one takes them.
func TestAHolderThatGaveBackLeavesNoConflictBehind(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Yield{At: tl.now, To: "standby1", Priority: 150, Holds: true})
	tl.answers(standbyMAC, 100*time.Millisecond, tl.now.Add(5*time.Second)) // the primary silent
	tl.expect(Standby)
	tl.do(Yield{At: tl.now})
	tl.expect(Asking)
	tl.tickTo(tl.now.Add(2 * time.Second))
	tl.expect(Acquiring, "start takeover")
}
