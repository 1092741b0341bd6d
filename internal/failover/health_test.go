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
	if h := tl.m.Health(); h.Healthy || h.Detail == "" {
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
	if tl.m.Holding() {
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
	tl.expect(Vetoed)
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
