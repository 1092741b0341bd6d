package failover

import (
	"testing"
	"time"
)

// beatHealth sends a heartbeat on both links, unhealthy or not; an
// unhealthy one from a primary that gave its service addresses up.
func (tl *timeline) beatHealth(unhealthy bool) { tl.beatWith(unhealthy, unhealthy) }

func (tl *timeline) beatWith(unhealthy, yielded bool) {
	for _, l := range []string{"priv0", "pub0"} {
		tl.do(Heartbeat{At: tl.now, Link: l, Interval: time.Second, Unhealthy: unhealthy, Yielded: yielded, MAC: primaryMAC,
			Detail: "service checks fail: Check10.http: exit 22"})
	}
}

// beatsFor beats every second for d, ticking and asking between.
func (tl *timeline) beatsFor(d time.Duration, unhealthy bool) {
	for end := tl.now.Add(d); tl.now.Before(end); {
		tl.tickTo(tl.now.Add(time.Second))
		tl.beatHealth(unhealthy)
	}
}

// A service address: the primary's checks fail, heartbeatd removes the
// address and says unhealthy; nobody answers, so it is taken over within
// milliseconds, the heartbeats going on. Healthy again: the address goes
// back after the hold-down of healthy heartbeats, not before.
func TestUnhealthyPrimaryHandsOver(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.expect(Standby)
	tl.beatHealth(true)
	tl.expect(Standby, "notice primary-unhealthy")
	if h := tl.m.health.status(); h.Healthy || h.Detail == "" {
		t.Fatalf("health %+v", h)
	}
	tl.tickTo(tl.now.Add(3 * time.Millisecond))
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	// Unhealthy heartbeats go on: no give-back, whatever the hold-down.
	tl.beatsFor(20*time.Second, true)
	tl.expect(Active)
	tl.beatHealth(false)
	tl.expect(Active, "notice primary-healthy")
	tl.beatsFor(4*time.Second, false)
	tl.expect(Active)
	tl.beatsFor(2*time.Second, false)
	tl.expect(Releasing, "start giveback")
}

// Host-address mode: the primary cannot give its own address up, and
// says so (no yielded flag): nothing moves, even when nothing answers
// for the address (its public cable cut, answers lost); the notice says
// it, once.
func TestUnhealthyPrimaryWithItsOwnAddressKeepsIt(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatWith(true, false)
	tl.expect(Standby, "notice primary-unhealthy")
	for range 30 {
		tl.tickTo(tl.now.Add(time.Second))
		tl.beatWith(true, false)
	}
	tl.expect(Standby)
	if tl.m.holding() {
		t.Fatal("took the primary's own address")
	}
}

// A hand-over vetoed while the address still answers (it was not given
// up after all) is asked again every VetoRetry, and never wakes the
// daemon over and over in between.
func TestVetoedHandOverWhileAnsweredDoesNotSpin(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatHealth(true)
	tl.tickTo(tl.now.Add(3 * time.Millisecond))
	tl.expect(Acquiring, "notice primary-unhealthy", "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed, "notice veto")
	for range 70 {
		tl.answers(primaryMAC, 100*time.Millisecond, tl.now.Add(time.Second))
		tl.beatHealth(true)
	}
	tl.expect(Vetoed, "notice conflict") // the yielded address answers: said once
}

// A Test that refuses the hand-over is asked again after VetoRetry, not
// at every heartbeat.
func TestUnhealthyHandOverVetoed(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatHealth(true)
	tl.tickTo(tl.now.Add(3 * time.Millisecond))
	tl.expect(Acquiring, "notice primary-unhealthy", "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed, "notice veto")
	tl.beatsFor(25*time.Second, true)
	tl.expect(Vetoed)
	tl.beatsFor(6*time.Second, true)
	tl.expect(Acquiring, "start takeover")
}

// Without asking (no asker) an unhealthy primary is only noticed.
func TestUnhealthyWithoutAskingIsANotice(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatHealth(true)
	tl.beatsFor(5*time.Second, true)
	tl.expect(Standby, "notice primary-unhealthy")
}

// A hand-over denied: the primary yields its service address, but
// another host answers for it. Nothing is taken, and a conflict notice
// says who answers, once, as for every other conflict (before: silence
// for as long as it lasted).
func TestHandOverDeniedIsAConflict(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatHealth(true)
	tl.expect(Standby, "notice primary-unhealthy")
	var notices []string
	for range 20 {
		tl.answers(otherMAC, 500*time.Microsecond, tl.now.Add(time.Second))
		tl.beatHealth(true)
		notices = append(notices, tl.got...)
		tl.got = nil
	}
	tl.expect(Standby)
	if len(notices) != 1 || notices[0] != "notice conflict" {
		t.Fatalf("notices %q while another host answers for the yielded address, want one conflict", notices)
	}
	if a, ok := tl.m.answering(tl.now); !ok || a.Primary {
		t.Fatalf("answering %+v %v: another host's MAC passed for the primary's", a, ok)
	}
}

// A primary gives its service address up: an answer for it that comes
// within the hand-over's lead was on its way before heartbeatd removed
// it, and is no conflict; the address is taken once it has gone
// unanswered. (Kills gremlins' survivor health.go:90:19.)
func TestAnAnswerWithinAHandOversLeadIsNoConflict(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.expect(Standby)
	tl.beatHealth(true)
	tl.expect(Standby, "notice primary-unhealthy")
	tl.now = tl.now.Add(time.Millisecond)
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.tickTo(tl.now.Add(500 * time.Microsecond))
	tl.expect(Standby)
	// Sixteen questions, at the suspicion's pace: it answered in this run.
	for range 2000 {
		if s, _ := tl.m.State(); s != Standby {
			break
		}
		tl.tickTo(tl.now.Add(time.Millisecond))
	}
	tl.expect(Acquiring, "start takeover")
}
