package failover

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func confirmParams() Params {
	p := askParams()
	p.Confirm = true
	return p
}

// probe sends one probe on each link the machine named, as the daemon's
// asker does, and the answers the timeline's host gives.
func (tl *timeline) probe(links []string) {
	if tl.probes == nil {
		tl.probes = map[string]int{}
	}
	for _, l := range links {
		if tl.canProbe != nil && !tl.canProbe(l) {
			continue // the probe could not be sent: not reported
		}
		tl.probes[l]++
		tl.do(Probed{At: tl.now, Link: l})
		if tl.answerProbe != nil && tl.answerProbe(l, tl.probes[l]) {
			tl.do(ProbeAnswer{At: tl.now, Link: l, MAC: primaryMAC})
		}
	}
}

// toldLate is how long, at a 1 s interval, a round waits after its
// probes had their answers' time for a carrier loss told late on their
// link (carrierGrace, an eighth of the interval).
const toldLate = time.Second / 8

// roundDecides ticks to 1.27 s after the last heartbeat at last (1 s
// interval) and toldLate more, by when the round of probes has gone
// unanswered and the takeover starts.
func roundDecides(tl *timeline, last time.Time) {
	tl.t.Helper()
	tl.tickTo(last.Add(1270*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// silentFrom beats on both links for 5 s and returns the last
// heartbeat's time (1 s interval: late at +1.25 s, spacing 5 ms, timeout
// 3 s).
func silentFrom(tl *timeline) time.Time {
	tl.run(5*time.Second, "priv0", "pub0")
	tl.expect(Standby)
	return tl.now
}

// A dead primary: its heartbeat late on every link, four probes on each
// go unanswered, and the takeover starts 20 ms and toldLate later, not
// at the timeout.
func TestConfirmedGoneTakesOverBeforeTheTimeout(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	if got := tl.m.ProbeSpacing(); got != 5*time.Millisecond {
		t.Fatalf("probe spacing %v at a 1 s interval, want 5ms", got)
	}
	tl.tickTo(last.Add(1249 * time.Millisecond))
	if tl.probeLinks != nil || tl.every != 0 {
		t.Fatalf("probing %v, asking %v before the heartbeat is late", tl.probeLinks, tl.every)
	}
	tl.tickTo(last.Add(1250*time.Millisecond + 19*time.Millisecond + toldLate))
	tl.expect(Standby)
	if n := tl.probes["priv0"] + tl.probes["pub0"]; n != 8 {
		t.Fatalf("%d probes in the round, want 4 per link", n)
	}
	tl.tickTo(last.Add(1250*time.Millisecond + 20*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
	if n := tl.probes["priv0"] + tl.probes["pub0"]; n != 8 {
		t.Fatalf("%d probes, want no more than the round's 8", n)
	}
}

// The reason a confirmed takeover gives names the probes and the links.
func TestConfirmedReasonSaysWhy(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	var reason string
	for tl.now.Before(last.Add(2 * time.Second)) {
		tl.now = tl.now.Add(time.Millisecond)
		for _, a := range tl.handle(Tick{At: tl.now}) {
			if j, ok := a.(StartJob); ok {
				reason = j.Reason
			}
		}
		tl.ask()
		if reason != "" {
			break
		}
	}
	if !strings.Contains(reason, "answered none of 4 probes on priv0 or pub0") {
		t.Fatalf("reason %q", reason)
	}
}

// An answer on one link only: the host lives. Nothing is taken before
// the timeout; at the timeout the usual rules apply (nothing answers for
// the address here, so the takeover).
func TestProbeAnsweredOnOneLinkOnly(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return link == "pub0" }
	last := silentFrom(tl)
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if tl.probes["pub0"] != 1 {
		t.Fatalf("%d probes on pub0, want the round to end at its first answer", tl.probes["pub0"])
	}
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
}

// Answers that stop midway (the host answered, then went quiet): one
// answer was enough to show it alive; the timeout decides, and no second
// round runs in the same silence.
func TestProbeAnswersThatStopMidway(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return link == "priv0" && n == 2 }
	last := silentFrom(tl)
	tl.tickTo(last.Add(1400 * time.Millisecond))
	if tl.probes["priv0"] != 2 {
		t.Fatalf("%d probes on priv0, want the round to end at the second's answer", tl.probes["priv0"])
	}
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if tl.probes["priv0"] != 2 || tl.probeLinks != nil {
		t.Fatalf("probed again in the same silence: %v", tl.probes)
	}
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
}

// Loss during probing: three probes on pub0 unanswered, the fourth
// answered: alive.
func TestLossDuringProbing(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return link == "pub0" && n == 4 }
	last := silentFrom(tl)
	tl.tickTo(last.Add(2 * time.Second))
	tl.expect(Standby)
}

// A heartbeat while the probes are out ends the round: nothing is taken.
// The next silence gets a round of its own.
func TestHeartbeatWhileProbesOutCancels(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250*time.Millisecond + 10*time.Millisecond))
	if tl.probes["pub0"] == 0 || tl.probes["pub0"] >= 4 {
		t.Fatalf("%d probes on pub0 10 ms into the round", tl.probes["pub0"])
	}
	tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second})
	if tl.probeLinks != nil {
		t.Fatal("still probing after a heartbeat")
	}
	tl.tickTo(last.Add(1400 * time.Millisecond))
	tl.expect(Standby)
	again := tl.now
	tl.do(Heartbeat{At: again, Link: "pub0", Interval: time.Second})
	tl.tickTo(again.Add(1250*time.Millisecond + 20*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// The private link's carrier goes (the primary lost power): probes at
// once, before any heartbeat is late; the dark private link is not
// probed (nothing could answer there), the public one goes unanswered:
// taken over 20 ms and toldLate after the carrier went.
func TestCarrierLossProbesAtOnce(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(100 * time.Millisecond))
	lost := tl.now
	tl.do(Carrier{At: lost, Link: "priv0", Up: false})
	links := tl.probeLinks
	if len(links) != 1 || links[0] != "pub0" {
		t.Fatalf("probing %+v right after the carrier loss, want pub0 alone", links)
	}
	tl.tickTo(lost.Add(19*time.Millisecond + toldLate))
	tl.expect(Standby)
	tl.tickTo(lost.Add(20*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
	if l := tl.m.linkList(tl.now)[0]; !l.NoCarrier {
		t.Fatalf("link %+v: the carrier loss is not shown", l)
	}
}

// A pulled private cable on a live primary: its public address answers,
// so nothing is taken, and the usual anomaly follows at the timeout.
func TestCarrierLossWhileThePublicLinkAnswers(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return link == "pub0" }
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(tl.now.Add(100 * time.Millisecond)) // run's grid: a heartbeat every whole second
	if tl.probes["pub0"] != 1 {
		t.Fatalf("%d probes on pub0 after the carrier loss, want a round ended by its first answer", tl.probes["pub0"])
	}
	tl.run(5*time.Second, "pub0")
	tl.expect(Degraded, "notice anomaly")
	// The cable back, and pulled again a timeout later: another round,
	// answered again.
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(tl.now.Add(100 * time.Millisecond))
	if tl.probes["pub0"] != 2 {
		t.Fatalf("%d probes on pub0, want one more round", tl.probes["pub0"])
	}
	// A flapping cable: a flap within the timeout of the last round
	// starts none.
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(tl.now.Add(100 * time.Millisecond))
	if tl.probes["pub0"] != 2 {
		t.Fatalf("%d probes on pub0: a flap within the timeout started a round", tl.probes["pub0"])
	}
	tl.run(time.Second, "pub0")
	tl.expect(Degraded)
}

// Every link dark on this host's side (a NIC reset, both links on one
// switch that rebooted): silence says nothing of the primary, so no
// round confirms; the timeout decides, as without probes.
func TestAllLinksDarkDoNotConfirm(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(100 * time.Millisecond))
	tl.do(Carrier{At: tl.now, Link: "pub0", Up: false})
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if on, how, _ := tl.round(); on || how != ProbeIncomplete {
		t.Fatalf("round on %v, ended %q; want it ended incomplete", on, how)
	}
	if tl.every == time.Millisecond*5 {
		t.Fatal("still asking at the probes' pace after the round ended")
	}
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
}

// The last probe is given its wait: probes sent late (a busy asker) do
// not shorten the time the last one has for its answer.
func TestLateProbesGetTheirWait(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	late := last.Add(1250 * time.Millisecond)
	tl.tickTo(late)
	for i := 1; i < 4; i++ { // three more probes, each 7 ms late
		tl.now = late.Add(time.Duration(i) * 12 * time.Millisecond)
		tl.do(Asked{At: tl.now})
		tl.do(Probed{At: tl.now, Link: "priv0"})
		tl.do(Probed{At: tl.now, Link: "pub0"})
	}
	lastProbe := tl.now
	tl.tickTo(lastProbe.Add(4*time.Millisecond + toldLate))
	tl.expect(Standby)
	tl.tickTo(lastProbe.Add(5*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// An answer to the round that confirmed the takeover, reported only
// after the decision (read late), stops the takeover before it adds
// anything: a conflict, not a second owner.
func TestAnswerReportedAfterTheDecision(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.do(ProbeAnswer{At: last.Add(1268 * time.Millisecond), Link: "pub0", MAC: primaryMAC})
	if a, ok := tl.m.answering(tl.now); !ok || a.MAC != primaryMAC {
		t.Fatalf("answering %+v %v: the late answer does not count", a, ok)
	}
	tl.do(JobDone{At: tl.now, Job: Takeover, Answered: true})
	tl.expect(Conflict, "notice takeover-failed")
}

// A link that cannot be probed (no address heard on it, the probe not
// sent) never confirms: the timeout decides.
func TestUnprobedLinkWaitsForTheTimeout(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.canProbe = func(link string) bool { return link != "pub0" }
	last := silentFrom(tl)
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
}

// Confirm off: no probes, the timeout alone.
func TestConfirmOff(t *testing.T) {
	p := confirmParams()
	p.Confirm = false
	tl := newTimeline(t, p, false)
	last := silentFrom(tl)
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if len(tl.probes) != 0 {
		t.Fatalf("probed with Confirm off: %v", tl.probes)
	}
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
}

// A confirmed round still takes nothing another host answers for: the
// address answered in the questions' window is a conflict.
func TestConfirmedButTheAddressAnswers(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250*time.Millisecond + 12*time.Millisecond + toldLate))
	tl.do(Answered{At: tl.now, Addr: vip, MAC: otherMAC})
	tl.tickTo(last.Add(1250*time.Millisecond + 20*time.Millisecond + toldLate))
	tl.expect(Conflict, "notice conflict")
}

// The default spacing follows the primary's interval: a two-hundredth,
// from 1 ms to 5 ms.
func TestProbeSpacingFollowsTheInterval(t *testing.T) {
	for _, c := range []struct{ interval, want time.Duration }{
		{10 * time.Millisecond, time.Millisecond},
		{100 * time.Millisecond, time.Millisecond},
		{400 * time.Millisecond, 2 * time.Millisecond},
		{time.Second, 5 * time.Millisecond},
		{10 * time.Second, 5 * time.Millisecond},
	} {
		tl := newTimeline(t, confirmParams(), false)
		tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: c.interval})
		if got := tl.m.ProbeSpacing(); got != c.want {
			t.Errorf("interval %v: spacing %v, want %v", c.interval, got, c.want)
		}
	}
}

// At a 10 ms interval: late at 12.5 ms, four probes 1 ms apart, and an
// eighth of the interval for a carrier loss told late: the takeover
// 17.75 ms after the last heartbeat (the timeout is 30 ms).
func TestConfirmAtTenMilliseconds(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	for range 50 {
		tl.now = tl.now.Add(10 * time.Millisecond)
		tl.beatBothEvery(10 * time.Millisecond)
		tl.tickTo(tl.now)
	}
	tl.expect(Standby)
	last := tl.now
	tl.tickTo(last.Add(17650 * time.Microsecond))
	tl.expect(Standby)
	tl.tickTo(last.Add(17750 * time.Microsecond))
	tl.expect(Acquiring, "start takeover")
}

// A round answered on one link a moment before that link went too (a
// host losing power, its links one after the other), and a carrier lost
// while it ran: another round, which goes unanswered.
func TestCarrierLostDuringAnAnsweredRound(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	answering := true
	tl.answerProbe = func(link string, n int) bool { return link == "pub0" && answering }
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250 * time.Millisecond)) // the round, answered on pub0
	tl.tickTo(tl.now.Add(500 * time.Microsecond))
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(tl.now.Add(time.Millisecond))
	answering = false
	tl.tickTo(tl.now.Add(30*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// Test refuses a takeover that a probe round decided, long before the
// timeout: the primary's links still count as heard, but that is not
// its return. The machine stays vetoed and asks Test again after
// VetoRetry, not at the next round 1.25 intervals later (it used to go
// back to standby, probe, decide and run Test again several times a
// second). A heartbeat after the veto is the primary back.
func TestConfirmedTakeoverVetoedWaitsForTheRetry(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.now = tl.now.Add(20 * time.Millisecond) // Test runs
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed, "notice veto")
	probes := tl.probes["priv0"] + tl.probes["pub0"]
	vetoed := tl.now
	tl.tickTo(vetoed.Add(30*time.Second - time.Millisecond))
	tl.expect(Vetoed)
	if n := tl.probes["priv0"] + tl.probes["pub0"] - probes; n != 0 {
		t.Fatalf("%d probes while vetoed, want none", n)
	}
	tl.tickTo(vetoed.Add(30*time.Second + time.Millisecond))
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed)
	tl.do(Heartbeat{At: tl.now.Add(time.Millisecond), Link: "priv0", Interval: time.Second})
	tl.expect(Standby)
}

// giveBackAfterReturn has the primary, after a takeover, beat on both
// links until the hold-down gives the addresses back, and then for
// another 10 s in standby. It returns the last heartbeat's time.
func giveBackAfterReturn(tl *timeline) time.Time {
	tl.t.Helper()
	for i := 0; i < 7 && tl.m.state == Active; i++ {
		tl.now = tl.now.Add(time.Second)
		tl.beatBoth()
		tl.do(Tick{At: tl.now})
	}
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	for range 10 {
		tl.now = tl.now.Add(time.Second)
		tl.beatBoth()
		tl.tickTo(tl.now)
	}
	tl.expect(Standby)
	return tl.now
}

// The primary came back once (a takeover, a give-back) and then dies: the
// second takeover, decided by a probe round while its links still count
// as heard, keeps the addresses. The run of heartbeats from its earlier
// return once counted as a new one, so the addresses went back at once,
// and took over and gave back again every 1.3 s while it stayed dead.
func TestConfirmedTakeoverAfterAGiveBackKeepsTheAddresses(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(tl.now.Add(10 * time.Second))
	last = giveBackAfterReturn(tl)
	roundDecides(tl, last)
	tl.now = tl.now.Add(20 * time.Millisecond)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(last.Add(30 * time.Second))
	tl.expect(Active)
}

// The same with automatic give-back off: no "primary back" notice for a
// primary that is gone.
func TestConfirmedTakeoverAfterAGiveBackNoFalseReturn(t *testing.T) {
	p := confirmParams()
	p.AutoGiveBack = false
	tl := newTimeline(t, p, true)
	for range 7 {
		tl.now = tl.now.Add(time.Second)
		tl.beatBoth()
		tl.tickTo(tl.now)
	}
	tl.expect(Active, "notice primary-back")
	tl.cmd(OpRelease)
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	for range 5 {
		tl.now = tl.now.Add(time.Second)
		tl.beatBoth()
		tl.tickTo(tl.now)
	}
	last := tl.now
	roundDecides(tl, last)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(last.Add(30 * time.Second))
	tl.expect(Active)
}

// An operator's acquire while the primary is heard, after an earlier
// give-back: the addresses go back after a hold-down counted from the
// acquire, not at once.
func TestAcquireAfterAGiveBackWaitsForTheHoldDown(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(6*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	tl.run(10*time.Second, "priv0", "pub0")
	tl.expect(Standby)
	tl.cmd(OpAcquire)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.run(4*time.Second, "priv0", "pub0")
	tl.expect(Active)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
}

// After a takeover a probe round decided, another host answers for the
// address while the dead primary's links still count as heard: that is a
// conflict this host reports and keeps the address through, as after a
// takeover at the timeout, not the primary back to give it to.
func TestStrangerAnsweringAfterAConfirmedTakeover(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(last.Add(1500 * time.Millisecond))
	tl.answers(otherMAC, 100*time.Millisecond, tl.now.Add(1100*time.Millisecond)) // an interval with no heartbeat
	tl.expect(Active, "notice conflict")
	// A heartbeat after the decision is the primary back: now its
	// answer is a reason to give the address back at once.
	tl.now = tl.now.Add(100 * time.Millisecond)
	tl.beatBoth()
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.expect(Releasing, "start giveback")
}

// An answer from another MAC during a probe round (the primary late) is
// not learned as the primary's MAC: the conflict it leads to says so.
func TestAnswerDuringARoundIsNotThePrimarys(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250*time.Millisecond + 12*time.Millisecond + toldLate))
	tl.do(Answered{At: tl.now, Addr: vip, MAC: otherMAC})
	var notices []string
	for tl.now.Before(last.Add(1300*time.Millisecond + toldLate)) {
		tl.now = tl.now.Add(time.Millisecond)
		for _, a := range tl.handle(Tick{At: tl.now}) {
			if n, ok := a.(Notice); ok {
				notices = append(notices, n.Detail)
			}
		}
		tl.ask()
	}
	tl.expect(Conflict)
	if len(notices) != 1 || !strings.Contains(notices[0], "not the primary's") || !strings.Contains(notices[0], otherMAC) {
		t.Fatalf("conflict notices %q: want one naming %s, not as the primary's MAC", notices, otherMAC)
	}
}

// A veto, then a hold; the primary comes back while held, and the
// operator resumes more than VetoRetry after the veto, between two
// heartbeats: the primary is heard, so standby, not Test asked again
// (and, without asking, a takeover from a live primary).
func TestResumeAVetoAfterThePrimaryCameBack(t *testing.T) {
	for _, c := range []struct {
		name string
		p    Params
	}{{"asking", askParams()}, {"not asking", params()}} {
		t.Run(c.name, func(t *testing.T) {
			tl := newTimeline(t, c.p, false)
			tl.run(2*time.Second, "priv0", "pub0")
			tl.run(4 * time.Second)
			tl.expect(Acquiring, "start takeover")
			tl.done(Takeover, true, nil)
			tl.expect(Vetoed, "notice veto")
			tl.cmd(OpHold)
			tl.expect(Held)
			tl.run(40*time.Second, "priv0", "pub0")
			tl.expect(Held)
			tl.now = tl.now.Add(300 * time.Millisecond)
			tl.cmd(OpResume)
			tl.expect(Standby)
		})
	}
}

// A heartbeat that comes after the round's confirmation time but before
// the tick that would decide (a late timer): the primary is alive, the
// round ends, nothing is taken.
func TestHeartbeatAfterTheConfirmationTimeTakesNothing(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250*time.Millisecond + 19*time.Millisecond))
	tl.expect(Standby)
	tl.now = last.Add(1250*time.Millisecond + 21*time.Millisecond)
	tl.beatBoth()
	tl.expect(Standby)
	if on, how, _ := tl.round(); on || how != ProbeHeard {
		t.Fatalf("round on %v, ended %q; want ended by the heartbeat", on, how)
	}
}

// After a power-off takeover and past the hold-down, the private cable's
// carrier comes back: failoverd asks at once whether the primary answers
// for the addresses, and its answer (from the MAC it answered from while
// heard) gives them back now. Without the question both hosts answered
// until the primary's next heartbeat, up to an interval.
func TestCarrierBackAsksAtOnce(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC}) // learned: heard just now
	last := tl.now
	tl.expect(Standby)
	tl.now = last.Add(10 * time.Millisecond)
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(last.Add(200 * time.Millisecond))
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(tl.now.Add(10 * time.Second))
	tl.expect(Active)
	if every := tl.every; every != 0 {
		t.Fatalf("asking every %v past the hold-down with the primary silent, want not at all", every)
	}
	back := tl.now
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	if every := tl.every; every != 5*time.Millisecond {
		t.Fatalf("asking every %v when the private cable's carrier came back, want 5ms (the probes' pace)", every)
	}
	tl.tickTo(back.Add(99 * time.Millisecond))
	if every := tl.every; every != 5*time.Millisecond {
		t.Fatalf("asking every %v 99 ms after the carrier came back, want 5ms", every)
	}
	tl.tickTo(back.Add(101 * time.Millisecond))
	if every := tl.every; every != 100*time.Millisecond {
		t.Fatalf("asking every %v with no answer 101 ms after the carrier came back, want the suspicion's pace (100ms)", every)
	}
	tl.ask()
	tl.now = tl.now.Add(time.Millisecond)
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	// An answer is no heartbeat: anyone can send it, with any MAC. The
	// address stays until the primary's heartbeat, which gives it back
	// (a conflict notice only if none came within an interval).
	tl.expect(Active)
	tl.now = tl.now.Add(time.Millisecond)
	tl.beatBoth()
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.expect(Releasing, "start giveback")
}

// Forged ARP (or NA) naming the dead primary's address at the primary's
// own MAC after a power-off takeover: ten frames, nothing given back, one
// conflict notice (once they have gone on for an interval with no
// heartbeat). (Before: each frame started a give-back, and a retake
// followed.) And a MAC an attacker announced while the primary lived is
// never taken for the primary's.
func TestForgedAnswersGiveNothingBack(t *testing.T) {
	for _, forged := range []string{primaryMAC, otherMAC} {
		tl := newTimeline(t, confirmParams(), false)
		tl.run(5*time.Second, "priv0", "pub0")
		// The attacker announces the address at its MAC while the
		// primary is heard: that teaches the machine nothing.
		tl.do(Answered{At: tl.now, Addr: vip, MAC: forged})
		last := tl.now
		tl.now = last.Add(10 * time.Millisecond)
		tl.do(Carrier{At: tl.now, Link: "priv0", Up: false}) // power off
		tl.tickTo(last.Add(200 * time.Millisecond))
		tl.expect(Acquiring, "start takeover")
		tl.done(Takeover, false, nil)
		tl.expect(Active, "notice takeover")
		var notices []string
		for i := range 10 {
			tl.tickTo(tl.now.Add(100 * time.Millisecond))
			tl.do(Answered{At: tl.now, Addr: vip, MAC: forged})
			for _, g := range tl.got {
				if g != "notice conflict" {
					t.Fatalf("forged answer %d from %s: %q", i+1, forged, tl.got)
				}
			}
			notices = append(notices, tl.got...)
			tl.got = nil
		}
		tl.tickTo(tl.now.Add(10 * time.Second))
		notices = append(notices, tl.got...)
		tl.got = nil
		tl.expect(Active)
		if len(notices) != 1 {
			t.Fatalf("notices %q for ten forged answers from %s, want one conflict", notices, forged)
		}
		if a, ok := tl.m.answering(tl.now.Add(-10 * time.Second)); ok && a.Primary != (forged == primaryMAC) {
			t.Fatalf("answering %+v: Primary must be the signed MAC's alone", a)
		}
	}
}

// blipLab drives a machine beside a live primary at a 100 ms interval
// whose heartbeats, probe answers and answers for vip (a service
// address it holds on pub0) reach this host only while this host's own
// links have carrier. blips says when both links go dark, for how long.
// The private link's carrier follows the public one's by stagger, as
// the kernel reports two links one after the other.
func blipLab(t *testing.T, interval time.Duration, blips []time.Time, dark, stagger time.Duration, until time.Time) (takeovers int) {
	t.Helper()
	p := confirmParams()
	p.AddrLinks = []string{"pub0"}
	p.DefaultInterval = interval
	tl := newTimeline(t, p, false)
	isDark := func(at time.Time) bool {
		for _, b := range blips {
			if !at.Before(b) && at.Before(b.Add(dark)) {
				return true
			}
		}
		return false
	}
	tl.answerProbe = func(string, int) bool { return !isDark(tl.now) && !isDark(tl.now.Add(-stagger)) }
	wasDark, privDark := false, false
	for tl.now = t0; tl.now.Before(until); tl.now = tl.now.Add(time.Millisecond) {
		if d := isDark(tl.now); d != wasDark {
			wasDark = d
			tl.do(Carrier{At: tl.now, Link: "pub0", Up: !d})
		}
		if d := isDark(tl.now.Add(-stagger)); d != privDark {
			privDark = d
			tl.do(Carrier{At: tl.now, Link: "priv0", Up: !d})
		}
		if !wasDark && !privDark && tl.now.Sub(t0)%interval == 0 {
			tl.beatBothEvery(interval)
		}
		tl.do(Tick{At: tl.now})
		if q := tl.nextQuestion(); !q.IsZero() && !q.After(tl.now) {
			tl.lastQ = tl.now
			probe := tl.probeLinks
			tl.do(Asked{At: tl.now})
			if !wasDark && !privDark {
				tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
			}
			tl.probe(probe)
		}
		for _, g := range tl.got {
			if g == "start takeover" {
				takeovers++
			}
		}
		tl.got = nil
		if s, _ := tl.m.State(); s == Acquiring {
			tl.done(Takeover, false, nil) // as the daemon would: count it, go on
			tl.got = nil
		}
	}
	return takeovers
}

// A blip of this host's own links (both switch ports down for 100 ms,
// the primary untouched), ten times 2 s apart at a 100 ms interval:
// nothing sent into the dark counts as unanswered, and a carrier back is
// news to ask about, so no takeover starts. (Before: probes due on a dark
// link counted as sent and unanswered, and the round confirmed when the
// carrier came back, before a real probe went out.)
func TestBlipsOfOwnLinksTakeNothing(t *testing.T) {
	var blips []time.Time
	for i := range 10 {
		blips = append(blips, t0.Add(5*time.Second+time.Duration(i)*2*time.Second+37*time.Millisecond))
	}
	for _, dark := range []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond} {
		for _, stagger := range []time.Duration{0, 3 * time.Millisecond} {
			if n := blipLab(t, 100*time.Millisecond, blips, dark, stagger, t0.Add(26*time.Second)); n != 0 {
				t.Fatalf("%d takeovers started by ten %v blips of this host's own links (carriers %v apart)", n, dark, stagger)
			}
		}
	}
}

// At the default 1 s interval, six blips of 1.4 s (longer than the
// interval, shorter than the 3 s timeout) start none.
func TestLongBlipsAtOneSecondTakeNothing(t *testing.T) {
	var blips []time.Time
	for i := range 6 {
		blips = append(blips, t0.Add(5*time.Second+time.Duration(i)*4*time.Second+370*time.Millisecond))
	}
	for _, stagger := range []time.Duration{0, 3 * time.Millisecond} {
		if n := blipLab(t, time.Second, blips, 1400*time.Millisecond, stagger, t0.Add(30*time.Second)); n != 0 {
			t.Fatalf("%d takeovers started by six 1.4 s blips at a 1 s interval (carriers %v apart)", n, stagger)
		}
	}
}

// A probe sent before the round under way began (one of an earlier
// round, reported late) is not one of this round's: the round still
// wants its four probes on the link.
func TestProbeFromAnEarlierRoundDoesNotCount(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.now = last.Add(1250 * time.Millisecond)
	tl.do(Tick{At: tl.now})
	if !slices.Contains(tl.probeLinks, "priv0") {
		t.Fatalf("no round probing priv0 at +%v: %v", tl.now.Sub(last), tl.probeLinks)
	}
	began := tl.now
	tl.now = began.Add(time.Millisecond)
	tl.do(Probed{At: tl.now, Link: "priv0", Sent: began.Add(-time.Millisecond)}) // stale
	for i := range 3 {
		tl.now = began.Add(time.Duration(2+i) * time.Millisecond)
		tl.do(Probed{At: tl.now, Link: "priv0", Sent: tl.now})
	}
	if !slices.Contains(tl.probeLinks, "priv0") {
		t.Fatalf("the round stopped probing priv0 after 3 probes of its own and one sent before it began")
	}
}

// The private link's carrier goes, but the primary's heartbeats still
// come on the public link: its host answered the round the loss began,
// and no later round may start while it is heard (its answers may be
// lost; a round that then went unanswered would take over a live
// primary). Ten seconds of pub0's heartbeats, with every probe after the
// first round's answer lost: nothing is taken.
func TestNoCarrierRoundWhileTheOtherLinkHearsTheHeartbeats(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	answered := 0
	tl.answerProbe = func(link string, n int) bool {
		if link == "pub0" && answered == 0 {
			answered++
			return true // the round the loss begins is answered
		}
		return false // every later answer is lost
	}
	tl.now = last.Add(10 * time.Millisecond)
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	for s := 1; s <= 10; s++ {
		beat := last.Add(time.Duration(s) * time.Second)
		tl.tickTo(beat)
		tl.now = beat
		tl.do(Heartbeat{At: beat, Link: "pub0", Interval: time.Second, MAC: primaryMAC})
		tl.do(Tick{At: beat})
		tl.ask()
		if st, _ := tl.m.State(); st != Standby && st != Degraded {
			t.Fatalf("state %s at +%v with the primary heard on pub0 every second (actions %q)", st, beat.Sub(last), tl.got)
		}
	}
	if answered != 1 {
		t.Fatalf("the first round's probe was not answered: the test does not test what it says")
	}
}

// The primary loses power just after a heartbeat: the carrier loss is
// told first, and the heartbeats it sent a moment before are read a
// millisecond after it (two goroutines race; the lab's power-off showed
// it, 134 ms instead of 8). They were on the wire before the loss, so
// they neither end the carrier's round nor keep a new one from starting:
// taken over 20 ms after the carrier went, as without them.
func TestHeartbeatsReadJustAfterTheCarrierLossDoNotStopItsRound(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(100 * time.Millisecond))
	lost := tl.now
	tl.do(Carrier{At: lost, Link: "priv0", Up: false})
	tl.now = lost.Add(time.Millisecond)
	tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second})
	tl.do(Heartbeat{At: tl.now, Link: "pub0", Interval: time.Second})
	tl.tickTo(lost.Add(30*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// Both of this host's links go dark together, and the kernel tells of
// each a moment late: priv0's loss starts a round whose probes go out
// on pub0, into a dark link not yet known dark. Its loss, told 60 ms
// late (within an eighth of the 1 s interval), must come before any
// decision on those probes: a blip of this host's own cables, reported
// late, takes nothing (found by the simulation, seed 413).
func TestCarrierLossToldLateDiscountsTheProbesSentIntoIt(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(100 * time.Millisecond))
	dark := tl.now.Add(-30 * time.Millisecond) // both links went dark then
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.tickTo(dark.Add(60 * time.Millisecond))
	tl.expect(Standby)
	tl.do(Carrier{At: tl.now, Link: "pub0", Up: false})
	tl.tickTo(dark.Add(500 * time.Millisecond))
	tl.expect(Standby)
}

// A primary whose links flap: dark long enough for a probe round to
// take its address, back (its host answers, so the address goes back
// at once), dark again. Within a hold-down of a give-back the next
// silence waits for the timeout, not a round of probes, so that a bad
// cable does not move the address (and run every hook) at every flap.
// Found by the simulation (seed 1300: the primary's links flapping at a
// 50 ms interval, 21 hooks in a second).
func TestAfterAGiveBackTheNextSilenceWaitsForTheTimeout(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.tickTo(tl.now.Add(100 * time.Millisecond))
	tl.beatBoth()
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	gave := tl.now
	tl.tickTo(gave.Add(time.Second))
	tl.beatBoth()
	back := tl.now // the last heartbeat
	tl.tickTo(back.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if tl.probes != nil && tl.probes["priv0"] > 4 {
		t.Fatalf("probed %v within a hold-down of the give-back at +%v", tl.probes, gave.Sub(t0))
	}
	tl.tickTo(back.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
	// A hold-down after the give-back, a silence is probed again.
	tl.done(Takeover, false, nil)
	tl.tickTo(tl.now.Add(100 * time.Millisecond))
	tl.beatBoth()
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice takeover", "start giveback", "notice giveback")
	for range 6 {
		tl.tickTo(tl.now.Add(time.Second))
		tl.beatBoth()
	}
	tl.expect(Standby)
	roundDecides(tl, tl.now)
}

// A takeover that a round decided and that stopped on the primary's
// answer (its links flapping: dark, then back while the hooks ran) damps
// the rounds as a give-back does: for a hold-down the next silence waits
// for the timeout, so a flapping primary cannot start one takeover after
// another, each running Test, PreAcq, PreRel and PostRel. Found by the
// simulation (seed 12845 at 55d9fcb: 21 hooks in a second).
func TestAfterAStoppedTakeoverTheNextSilenceWaitsForTheTimeout(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	roundDecides(tl, last)
	tl.handle(JobDone{At: tl.now, Job: Takeover, Answered: true})
	tl.got = nil
	stopped := tl.now
	tl.tickTo(stopped.Add(100 * time.Millisecond))
	tl.beatBoth()
	back := tl.now // the last heartbeat
	tl.got = nil
	tl.tickTo(back.Add(2900 * time.Millisecond))
	if s, _ := tl.m.State(); s == Acquiring {
		t.Fatalf("a round took over %v after the primary's last heartbeat, within a hold-down of a stopped takeover", tl.now.Sub(back))
	}
	tl.tickTo(back.Add(3*time.Second + time.Nanosecond))
	if s, _ := tl.m.State(); s != Acquiring && s != Asking {
		t.Fatalf("state %s at the timeout after a stopped takeover, want the timeout to decide", s)
	}
}

// A probe sent on a link before its carrier flapped, and reported after
// the carrier came back, went into the dark: it does not count. The
// round still has four probes on that link sent after the flap go
// unanswered before the takeover.
func TestAProbeSentBeforeACarrierFlapDoesNotCount(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250 * time.Millisecond))
	if tl.probes["priv0"] == 0 {
		t.Fatalf("no probe on priv0 when the heartbeat is late: probing %v", tl.probeLinks)
	}
	sent := tl.now
	tl.now = tl.now.Add(time.Millisecond)
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	tl.now = tl.now.Add(time.Millisecond)
	tl.do(Probed{At: tl.now, Link: "priv0", Sent: sent}) // reported late
	before := tl.probes["priv0"]
	for end := last.Add(3 * time.Second); tl.now.Before(end); {
		tl.tickTo(tl.now.Add(time.Millisecond))
		if s, _ := tl.m.State(); s == Acquiring {
			break
		}
	}
	tl.expect(Acquiring, "start takeover")
	if d := tl.now.Sub(last); d >= 3*time.Second {
		t.Fatalf("taken over %v after the last heartbeat: the timeout decided, not the round", d)
	}
	if n := tl.probes["priv0"] - before; n != 4 {
		t.Errorf("%d probes on priv0 after the flap before the takeover, want 4: the one sent before it counted", n)
	}
}
