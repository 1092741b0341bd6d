package failover

// Behaviour at edges the mutation run (gremlins) found untested: each
// test names what a user, an operator or the primary would see. They
// drive the machine through New, Handle and Status alone, with the
// timeline harness.

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// silentAfter beats on both links every second for d and returns the
// last heartbeat's time.
func silentAfter(tl *timeline, d time.Duration) time.Time {
	tl.t.Helper()
	for end := tl.now.Add(d); tl.now.Before(end); {
		tl.tickTo(tl.now.Add(time.Second))
		tl.beatBoth()
	}
	tl.expect(Standby)
	return tl.now
}

// A very short AskWait (a LAN a few metres long) never has the questions
// after a goodbye go closer than a tenth of a millisecond apart: the
// asker would flood the link.
func TestQuestionsAfterAGoodbyeAreNeverCloserThanATenthOfAMillisecond(t *testing.T) {
	p := askParams()
	p.AskWait = 150 * time.Microsecond
	tl := newTimeline(t, p, false)
	last := silentAfter(tl, 5*time.Second)
	tl.do(Heartbeat{At: last, Link: "priv0", Interval: time.Second, Goodbye: true})
	tl.expect(Asking)
	if tl.every != 100*time.Microsecond {
		t.Fatalf("asking every %v after a goodbye with AskWait 150µs, want 100µs", tl.every)
	}
}

// The timeout passes with too few questions out (a stalled asker): the
// machine asks on at the suspicion's pace (a thirtieth of the timeout),
// not at a goodbye's, which is for a primary that said it is going.
func TestAskingAfterTheTimeoutKeepsTheSuspicionsPace(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	last := silentAfter(tl, 5*time.Second)
	tl.now = last.Add(3*time.Second + time.Millisecond)
	tl.do(Tick{At: tl.now})
	tl.expect(Asking)
	if tl.every != 100*time.Millisecond {
		t.Fatalf("asking every %v after the timeout (3 s), want 100ms", tl.every)
	}
}

// A primary heard on one link only (degraded) whose service fails and
// that gives its service addresses up hands them over within
// milliseconds, as one heard on every link does.
func TestAHandOverWhileDegradedIsTakenInMilliseconds(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	silentAfter(tl, 5*time.Second)
	for range 4 {
		tl.tickTo(tl.now.Add(time.Second))
		tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second, MAC: primaryMAC})
	}
	tl.expect(Degraded, "notice anomaly")
	tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second, MAC: primaryMAC, Unhealthy: true, Yielded: true, Detail: "Check10.http: exit 22"})
	tl.expect(Degraded, "notice primary-unhealthy")
	if tl.every > time.Millisecond {
		t.Fatalf("asking every %v for a hand-over while degraded, want a goodbye's pace", tl.every)
	}
	tl.tickTo(tl.now.Add(3 * time.Millisecond))
	tl.expect(Acquiring, "start takeover")
}

// failoverctl status shows the asking window (three questions at the
// suspicion's pace: 300 ms for a 3 s timeout), and an answer from
// another host for exactly that long after it came.
func TestStatusShowsAnAnswerForAWholeWindow(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	last := silentAfter(tl, 5*time.Second)
	if w := tl.m.Status(tl.now).AskWindow; w != 300*time.Millisecond {
		t.Fatalf("status says the ask window is %v, want 300ms", w)
	}
	at := last.Add(100 * time.Millisecond)
	tl.do(Answered{At: at, Addr: vip, MAC: otherMAC})
	if a := tl.m.Status(at.Add(300 * time.Millisecond)).Answering; a == nil || a.MAC != otherMAC || a.Addr != vip {
		t.Fatalf("status a window after the answer says %+v, want %s answering for %s", a, otherMAC, vip)
	}
	if a := tl.m.Status(at.Add(300*time.Millisecond + time.Nanosecond)).Answering; a != nil {
		t.Fatalf("status past the window after the answer still says %+v answers", a)
	}
}

// With the addresses on the public link, questions asked while its
// carrier is gone count for nothing: nobody could have answered them, so
// the timeout does not take the addresses on their silence.
func TestQuestionsWhileTheAddressLinkIsDarkDoNotFreeTheAddress(t *testing.T) {
	p := askParams()
	p.AddrLinks = []string{"pub0"}
	tl := newTimeline(t, p, false)
	last := silentAfter(tl, 5*time.Second)
	tl.do(Carrier{At: last.Add(time.Second), Link: "pub0", Up: false})
	tl.tickTo(last.Add(4 * time.Second))
	tl.expect(Asking)
}

// No heartbeat ever (the primary is dead at the secondary's start): the
// questions begin before the initial grace ends, so the takeover comes at
// its end, not later.
func TestAskingCostsAPrimaryNeverHeardNothing(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.tickTo(t0.Add(10*time.Second - time.Millisecond))
	tl.expect(Starting)
	tl.tickTo(t0.Add(10 * time.Second))
	tl.expect(Acquiring, "start takeover")
}

// A host answers for a held address with the primary unheard: the
// conflict notice is due an interval after its first answer. The daemon
// is woken then (the Deadline it is told), also when the answers
// stopped a moment before: it would otherwise sleep until the next event.
func TestAnAnswerWithThePrimaryUnheardWakesTheDaemonAnIntervalLater(t *testing.T) {
	tl := newTimeline(t, askParams(), true)
	tl.run(time.Second)
	first := tl.now
	for at := first; !at.After(first.Add(800 * time.Millisecond)); at = at.Add(100 * time.Millisecond) {
		tl.now = at
		tl.do(Answered{At: at, Addr: vip, MAC: otherMAC})
	}
	tl.expect(Active)
	if want := first.Add(time.Second); !tl.deadline.At.Equal(want) {
		t.Fatalf("after the answers the deadline said is +%v, want +%v (an interval after the first)", tl.deadline.At.Sub(t0), want.Sub(t0))
	}
	tl.now = tl.deadline.At
	tl.do(Tick{At: tl.now})
	tl.expect(Active, "notice conflict")
}

// After a goodbye, three questions unanswered free the address however
// late the next one is (a stalled asker): the daemon is told to wake when
// their window has passed, and the takeover starts then.
func TestAGoodbyeIsTakenAWindowAfterThreeQuestionsWithoutAFourth(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	bye := silentAfter(tl, 5*time.Second)
	tl.do(Heartbeat{At: bye, Link: "priv0", Interval: time.Second, Goodbye: true})
	tl.expect(Asking)
	for i := range 3 {
		tl.now = bye.Add(time.Duration(i) * 600 * time.Microsecond)
		tl.do(Asked{At: tl.now})
	}
	tl.expect(Asking)
	if d, within := tl.deadline.At, bye.Add(2*time.Millisecond); !d.After(tl.now) || d.After(within) {
		t.Fatalf("after three questions the deadline said is +%v, want by +%v (a window after the first)", d.Sub(t0), within.Sub(t0))
	}
	tl.now = tl.deadline.At
	tl.do(Tick{At: tl.now})
	tl.expect(Acquiring, "start takeover")
}

// A goodbye whose address still answers is a conflict at GoodbyeWait
// exactly: the daemon is told to wake then, though no event comes.
func TestAGoodbyeStillAnsweredIsAConflictAtGoodbyeWait(t *testing.T) {
	p := askParams()
	p.ConflictTest = 0
	tl := newTimeline(t, p, false)
	bye := silentAfter(tl, 5*time.Second)
	tl.do(Heartbeat{At: bye, Link: "priv0", Interval: time.Second, Goodbye: true})
	for at := bye.Add(100 * time.Millisecond); at.Before(bye.Add(p.GoodbyeWait)); at = at.Add(100 * time.Millisecond) {
		tl.now = at
		tl.do(Answered{At: at, Addr: vip, MAC: primaryMAC})
	}
	tl.expect(Asking)
	if want := bye.Add(p.GoodbyeWait); !tl.deadline.At.Equal(want) {
		t.Fatalf("the deadline said is +%v, want +%v (GoodbyeWait after the goodbye)", tl.deadline.At.Sub(t0), want.Sub(t0))
	}
	tl.now = tl.deadline.At
	tl.do(Tick{At: tl.now})
	tl.expect(Conflict, "notice conflict")
}

// The conflict after a goodbye lasts (the address answers on): its
// deadlines are its questions', and none is left in the past (the
// daemon would wake over and over). The timeline checks every tick.
func TestAConflictAfterAGoodbyeLeavesNoDeadlinePast(t *testing.T) {
	p := askParams()
	p.ConflictTest = 0
	tl := newTimeline(t, p, false)
	bye := silentAfter(tl, 5*time.Second)
	tl.do(Heartbeat{At: bye, Link: "priv0", Interval: time.Second, Goodbye: true})
	tl.answers(primaryMAC, 500*time.Microsecond, bye.Add(5*time.Millisecond))
	tl.answers(primaryMAC, 100*time.Millisecond, bye.Add(p.GoodbyeWait+100*time.Millisecond))
	tl.expect(Conflict, "notice conflict")
	tl.answers(primaryMAC, 100*time.Millisecond, tl.now.Add(p.GoodbyeWait+time.Second))
	tl.expect(Conflict)
}

// The takeover that ends a conflict says which address stopped answering
// and after how long, for the log and the hooks.
func TestTheTakeoverAfterAConflictSaysTheAddressStoppedAnswering(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	silentAfter(tl, 5*time.Second)
	tl.answers(otherMAC, 100*time.Millisecond, tl.now.Add(3500*time.Millisecond))
	tl.expect(Conflict, "notice conflict")
	var reason string
	for i := 0; i < 100 && reason == ""; i++ {
		tl.now = tl.now.Add(100 * time.Millisecond)
		for _, ev := range []Event{Tick{At: tl.now}, Asked{At: tl.now}} {
			for _, a := range tl.handle(ev) {
				if j, ok := a.(StartJob); ok && j.Job == Takeover {
					reason = j.Reason
				}
			}
		}
	}
	if want := vip + " stopped answering after "; !strings.HasPrefix(reason, want) {
		t.Fatalf("the takeover's reason is %q, want it to begin %q", reason, want)
	}
}

// The primary's MAC answering once in the questions before the timeout
// says its host lives (heartbeatd stopped on a live host): three
// questions lost in a row do not free the address, sixteen must go
// unanswered. So too two answers from a MAC the heartbeats never named;
// one alone is anyone's to forge and does not slow the takeover (see
// TestOneForgedAnswerDoesNotDelayTheTakeover).
func TestAnAnswerThatShowsAHostAliveNeedsSixteenUnansweredQuestions(t *testing.T) {
	for _, macs := range [][]string{{primaryMAC}, {otherMAC, otherMAC}} {
		tl := newTimeline(t, askParams(), false)
		last := silentAfter(tl, 5*time.Second)
		tl.tickTo(last.Add(2600 * time.Millisecond)) // the questions began
		for _, mac := range macs {
			tl.tickTo(tl.now.Add(50 * time.Millisecond))
			tl.do(Answered{At: tl.now, Addr: vip, MAC: mac})
		}
		tl.tickTo(last.Add(3500 * time.Millisecond))
		if s, _ := tl.m.State(); s != Asking {
			t.Fatalf("answers from %v: %s half a second after the timeout, want still asking", macs, s)
		}
		tl.tickTo(last.Add(4500 * time.Millisecond))
		tl.expect(Acquiring, "start takeover")
	}
}

// A host answers once for an address this host holds, with the primary
// unheard (a forged reply, or a primary back a moment before its first
// heartbeat), and again only after a timeout of quiet: the second answer
// is news, not an interval of answering, so no conflict is noticed yet.
func TestAnAnswerLongAfterAnotherIsNotAConflictAtOnce(t *testing.T) {
	tl := newTimeline(t, askParams(), true)
	tl.run(time.Second)
	tl.do(Answered{At: tl.now, Addr: vip, MAC: otherMAC})
	tl.run(10 * time.Second)
	tl.do(Answered{At: tl.now, Addr: vip, MAC: otherMAC})
	tl.expect(Active)
	tl.answers(otherMAC, 100*time.Millisecond, tl.now.Add(1100*time.Millisecond))
	tl.expect(Active, "notice conflict")
}

// The primary back answers for its address and gets it at once; the
// give-back fails (an address could not be removed). While it answers
// on, the give-back is tried again a hold-down after it began, not at
// every answer before then, and not later than that.
func TestAFailedGiveBackOnAnAnswerIsTriedAgainAHoldDownAfterIt(t *testing.T) {
	tl := newTimeline(t, askParams(), true)
	tl.run(time.Second, "priv0", "pub0")
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.expect(Releasing, "start giveback")
	began := tl.now
	tl.now = began.Add(time.Second)
	tl.do(JobDone{At: tl.now, Job: GiveBack, Err: errors.New("RTNETLINK answers: Operation not permitted")})
	tl.expect(Active, "notice giveback-failed")
	for tl.now = tl.now.Add(500 * time.Millisecond); tl.now.Before(began.Add(5 * time.Second)); tl.now = tl.now.Add(500 * time.Millisecond) {
		tl.beatBoth()
		tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
		tl.expect(Active)
	}
	tl.beatBoth()
	tl.do(Answered{At: tl.now, Addr: vip, MAC: primaryMAC})
	tl.expect(Releasing, "start giveback")
}

// An administrator who set a fixed timeout longer than the dead count's
// (6 s for three 1 s intervals, to ride out stalls) gets probes as
// patient: the round of probes begins when the heartbeat is late by as
// much in proportion (2.5 s after the last, not 1.25 s).
func TestALongFixedTimeoutProbesAsPatiently(t *testing.T) {
	p := confirmParams()
	p.Timeout = 6 * time.Second
	tl := newTimeline(t, p, false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(2500*time.Millisecond - time.Millisecond))
	if on, _, _ := tl.round(); on {
		t.Fatalf("a round of probes began by +%v after the last heartbeat, want at 2.5s", tl.now.Sub(last))
	}
	tl.tickTo(last.Add(2500 * time.Millisecond))
	if on, _, _ := tl.round(); !on {
		t.Fatal("no round of probes 2.5s after the last heartbeat (timeout 6s, dead count 3)")
	}
}

// A cable pulled, put back and pulled again exactly a timeout after the
// first round began gets a round of its own (one per timeout at most, so
// that a flapping cable is not probed at every flap).
func TestACarrierLostATimeoutAfterTheLastRoundProbesAgain(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return link == "pub0" }
	last := silentFrom(tl)
	lost := last.Add(10 * time.Millisecond)
	tl.now = lost
	tl.do(Carrier{At: lost, Link: "priv0", Up: false})
	tl.tickTo(lost.Add(100 * time.Millisecond))
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	if tl.probes["pub0"] != 1 {
		t.Fatalf("%d probes on pub0 after the carrier loss, want a round ended by its first answer", tl.probes["pub0"])
	}
	for i := range 3 {
		tl.tickTo(last.Add(time.Duration(i+1) * time.Second))
		tl.beatBoth()
	}
	tl.tickTo(lost.Add(3 * time.Second))
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: false})
	if on, _, _ := tl.round(); !on || !slices.Equal(tl.probeLinks, []string{"pub0"}) {
		t.Fatalf("round on %v, probing %v at the carrier loss a timeout after the last round began, want pub0 probed at once", on, tl.probeLinks)
	}
	tl.tickTo(tl.now.Add(100 * time.Millisecond))
	if tl.probes["pub0"] != 2 {
		t.Fatalf("%d probes on pub0, want another round a timeout (3s) after the last one began", tl.probes["pub0"])
	}
	tl.expect(Standby)
}

// A link that cannot be probed keeps the round from confirming until it
// ends incomplete; the links that can are probed Probes times each, no
// more, however long the round waits.
func TestARoundThatCannotConfirmProbesEachLinkProbesTimes(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.canProbe = func(link string) bool { return link != "pub0" }
	last := silentFrom(tl)
	tl.tickTo(last.Add(2900 * time.Millisecond))
	tl.expect(Standby)
	if tl.probes["priv0"] != DefaultProbes {
		t.Fatalf("%d probes on priv0 in a round that could not confirm, want %d", tl.probes["priv0"], DefaultProbes)
	}
}

// A probe reported on a link the machine does not know (a misconfigured
// or renamed interface) during a round counts for nothing, and does not
// crash the daemon.
func TestAProbeOnAnUnknownLinkIsIgnored(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1250 * time.Millisecond))
	if on, _, _ := tl.round(); !on {
		t.Fatal("no round of probes when the heartbeat is late")
	}
	tl.do(Probed{At: tl.now, Link: "eth9"})
	tl.expect(Standby)
	roundDecides(tl, last)
}

// The primary's host answers the probes on both links: the first answer
// ends the round, and the others that come in after it, or once the
// timeout has started a takeover, are not taken for a host answering for
// the addresses: status shows none, and the takeover goes ahead.
func TestProbeAnswersAfterTheRoundEndedAreNoAnswerForTheAddresses(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	tl.answerProbe = func(link string, n int) bool { return true }
	last := silentFrom(tl)
	tl.tickTo(last.Add(1300 * time.Millisecond))
	if on, how, _ := tl.round(); on || how != ProbeAnswered {
		t.Fatalf("round on %v, ended %q; want it ended answered", on, how)
	}
	if a := tl.m.Status(tl.now).Answering; a != nil {
		t.Fatalf("status says %+v answers after the round ended answered", a)
	}
	tl.tickTo(last.Add(3*time.Second + time.Nanosecond))
	tl.expect(Acquiring, "start takeover")
	tl.do(ProbeAnswer{At: tl.now, Link: "pub0", MAC: primaryMAC})
	if a := tl.m.Status(tl.now).Answering; a != nil {
		t.Fatalf("status says %+v answers: a probe answer from a round that ended answered stopped the takeover", a)
	}
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
}

// A heartbeat ends a round of probes; an answer to one of its probes
// read after that changes nothing: the next silence gets a round of its
// own, which confirms the primary gone before the timeout.
func TestAProbeAnswerReadAfterAHeartbeatEndedTheRoundChangesNothing(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(1260 * time.Millisecond))
	heard := tl.now
	tl.do(Heartbeat{At: heard, Link: "priv0", Interval: time.Second, MAC: primaryMAC})
	if on, how, _ := tl.round(); on || how != ProbeHeard {
		t.Fatalf("round on %v, ended %q after a heartbeat; want it ended heard", on, how)
	}
	tl.now = heard.Add(time.Millisecond)
	tl.do(ProbeAnswer{At: tl.now, Link: "pub0", MAC: primaryMAC})
	tl.expect(Standby)
	roundDecides(tl, heard)
}

// The carrier reported again as it was (the kernel says a link changed
// for other reasons: its MTU, its flags) is no carrier loss: no round of
// probes starts.
func TestACarrierReportThatChangesNothingStartsNoRound(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	tl.tickTo(last.Add(100 * time.Millisecond))
	tl.do(Carrier{At: tl.now, Link: "priv0", Up: true})
	if on, _, _ := tl.round(); on {
		t.Fatal("a carrier report that changed nothing started a round of probes")
	}
	tl.expect(Standby)
}

// Questions sent while the addresses' link was dark and reported after
// its carrier came back (a busy asker) count for nothing: nobody could
// have answered them.
func TestQuestionsSentIntoTheDarkAndReadAfterTheCarrierCameBackDoNotCount(t *testing.T) {
	p := askParams()
	p.AddrLinks = []string{"pub0"}
	tl := newTimeline(t, p, false)
	last := silentAfter(tl, 5*time.Second)
	tl.now = last.Add(2650 * time.Millisecond)
	tl.do(Carrier{At: tl.now, Link: "pub0", Up: false})
	tl.now = last.Add(2750 * time.Millisecond)
	tl.do(Carrier{At: tl.now, Link: "pub0", Up: true})
	for i := range 3 {
		sent := last.Add(2700*time.Millisecond + time.Duration(i)*10*time.Millisecond)
		tl.now = last.Add(2760*time.Millisecond + time.Duration(i)*time.Millisecond)
		tl.do(Asked{At: tl.now, Sent: sent})
	}
	tl.now = last.Add(3100 * time.Millisecond)
	tl.do(Tick{At: tl.now})
	tl.expect(Asking)
}

// While this host holds the addresses and the primary is silent, only a
// cable back (the primary may be back, answering before its first
// heartbeat) starts the questions; a cable lost, and the loss reported
// again, do not.
func TestOnlyACableBackWhileActiveStartsTheQuestions(t *testing.T) {
	tl := newTimeline(t, askParams(), true)
	tl.run(time.Second)
	for range 2 {
		tl.do(Carrier{At: tl.now, Link: "pub0", Up: false})
		if tl.every != 0 {
			t.Fatalf("asking every %v after a carrier loss while active, the primary silent", tl.every)
		}
		tl.now = tl.now.Add(100 * time.Millisecond)
	}
	tl.do(Carrier{At: tl.now, Link: "pub0", Up: true})
	if tl.every == 0 {
		t.Fatal("not asking after the cable came back while active")
	}
	tl.expect(Active)
}

// Probes sent in a burst (a busy asker catching up) do not shorten the
// round: it confirms Probes spacings after the first probe (and
// toldLate), not an answer's wait after the last.
func TestProbesSentInABurstStillGetTheRoundsLength(t *testing.T) {
	tl := newTimeline(t, confirmParams(), false)
	last := silentFrom(tl)
	late := last.Add(1250 * time.Millisecond)
	tl.tickTo(late)
	burst := tl.now.Add(time.Millisecond)
	tl.now = burst
	for range 3 {
		tl.do(Probed{At: burst, Link: "priv0"})
		tl.do(Probed{At: burst, Link: "pub0"})
	}
	tl.tickTo(late.Add(19*time.Millisecond + toldLate))
	tl.expect(Standby)
	tl.tickTo(late.Add(20*time.Millisecond + toldLate))
	tl.expect(Acquiring, "start takeover")
}

// A round that cannot confirm (a link that cannot be probed) ends
// incomplete a third of the timeout after it began, or, with probes
// spaced widely (100 ms here), after three times the probes' length
// (1.5 s): an asker that a busy machine delays still gets them out.
func TestARoundThatCannotConfirmEndsAfterThreeTimesItsLength(t *testing.T) {
	p := confirmParams()
	p.ProbeSpacing = 100 * time.Millisecond
	tl := newTimeline(t, p, false)
	tl.canProbe = func(link string) bool { return link != "pub0" }
	last := silentFrom(tl)
	began := last.Add(1250 * time.Millisecond)
	tl.tickTo(began.Add(1500*time.Millisecond - time.Millisecond))
	if on, _, _ := tl.round(); !on {
		t.Fatalf("the round ended %v after it began, want 1.5s", tl.now.Sub(began))
	}
	tl.tickTo(began.Add(1500 * time.Millisecond))
	if on, how, _ := tl.round(); on || how != ProbeIncomplete {
		t.Fatalf("round on %v, ended %q 1.5s after it began; want it ended incomplete", on, how)
	}
	tl.expect(Standby)
}

// Host-address mode: the primary's checks fail and it cannot give its own
// address up (not yielded). Its heartbeats come 2.95 s apart (two of
// three lost), long enough for a few questions before each to go
// unanswered (its public cable cut): still nothing is taken.
func TestAnUnhealthyPrimaryThatKeepsItsAddressIsNotTakenOverBetweenLateHeartbeats(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatWith(true, false)
	tl.expect(Standby, "notice primary-unhealthy")
	for range 10 {
		tl.tickTo(tl.now.Add(2950 * time.Millisecond))
		tl.beatWith(true, false)
	}
	tl.expect(Standby)
}

// A heartbeat that does not say its interval (zero) keeps the one last
// heard: the timeout does not collapse to nothing.
func TestAHeartbeatThatDoesNotSayItsIntervalKeepsTheLastOne(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(3*time.Second, "priv0", "pub0")
	tl.do(Heartbeat{At: tl.now, Link: "priv0"})
	st := tl.m.Status(tl.now)
	if st.PeerInterval != time.Second || st.Timeout != 3*time.Second {
		t.Fatalf("status says interval %v, timeout %v after a heartbeat that did not say its interval; want 1s and 3s", st.PeerInterval, st.Timeout)
	}
	tl.expect(Standby)
}

// A hand-over that waits (another host answers for the yielded address)
// does not hide the links: one falling silent is still an anomaly.
func TestAHandOverThatWaitsStillReportsAnAnomaly(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.beatsFor(5*time.Second, false)
	tl.beatHealth(true)
	tl.expect(Standby, "notice primary-unhealthy")
	for range 5 {
		tl.answers(otherMAC, 500*time.Microsecond, tl.now.Add(time.Second))
		tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second, MAC: primaryMAC, Unhealthy: true, Yielded: true, Detail: "Check10.http: exit 22"})
	}
	tl.expect(Degraded, "notice conflict", "notice anomaly")
}

// A takeover left unfinished by a crash is completed the moment the
// initial grace ends with the primary unheard: the daemon ticks at the
// deadline it was told, and the takeover starts then.
func TestAnUnfinishedTakeoverIsCompletedWhenTheGraceEnds(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.m.Incomplete()
	tl.tickTo(t0.Add(10*time.Second - time.Millisecond))
	tl.expect(Active)
	tl.tickTo(t0.Add(10 * time.Second))
	tl.expect(Acquiring, "start takeover")
}

// Test refused a give-back: it is asked again VetoRetry later exactly,
// at the deadline the daemon was told (the hold-down of heartbeats long
// past).
func TestARefusedGiveBackIsAskedAgainAtVetoRetry(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(6*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, true, nil)
	tl.expect(Active, "notice veto")
	refused := tl.now
	for tl.now.Before(refused.Add(29 * time.Second)) {
		tl.tickTo(tl.now.Add(time.Second))
		tl.beatBoth()
	}
	tl.expect(Active)
	tl.tickTo(refused.Add(30*time.Second - time.Millisecond))
	tl.expect(Active)
	tl.tickTo(refused.Add(30 * time.Second))
	tl.expect(Releasing, "start giveback")
}

// Test, run for a lasting conflict, fails: the notice says why, as the
// job reported it, or that it exited non-zero when it did not say.
func TestAFailedFenceSaysWhy(t *testing.T) {
	for _, c := range []struct{ reason, want string }{
		{"", "did not succeed: it exited non-zero;"},
		{"it timed out after 10s", "did not succeed: it timed out after 10s;"},
	} {
		tl := newTimeline(t, askParams(), false)
		silentAfter(tl, 5*time.Second)
		tl.answers(primaryMAC, 100*time.Millisecond, tl.now.Add(3100*time.Millisecond))
		tl.expect(Conflict, "notice conflict")
		tl.answers(primaryMAC, 100*time.Millisecond, tl.now.Add(10100*time.Millisecond))
		tl.expect(Conflict, "start fence")
		acts := tl.handle(JobDone{At: tl.now, Job: Fence, Vetoed: true, Reason: c.reason})
		if len(acts) != 1 {
			t.Fatalf("after the fence failed: %+v, want one notice", acts)
		}
		if n, ok := acts[0].(Notice); !ok || !strings.Contains(n.Detail, c.want) {
			t.Fatalf("after the fence failed (reason %q): %+v, want it to say %q", c.reason, acts[0], c.want)
		}
	}
}

// An automatic takeover is not forced: it stops before it adds anything
// if another host answers while its hooks run. --force belongs to an
// acquire: a release asked with it (nothing to release here) does not
// force a later automatic takeover either.
func TestAnAutomaticTakeoverIsNotForcedEvenAfterAForcedRelease(t *testing.T) {
	tl := newTimeline(t, askParams(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.do(Command{At: tl.now, Op: OpRelease, Force: true})
	tl.expect(Standby)
	var forced, started bool
	for end := tl.now.Add(4 * time.Second); tl.now.Before(end) && !started; {
		tl.now = tl.now.Add(100 * time.Millisecond)
		for _, ev := range []Event{Tick{At: tl.now}, Asked{At: tl.now}} {
			for _, a := range tl.handle(ev) {
				if j, ok := a.(StartJob); ok && j.Job == Takeover {
					started, forced = true, j.Forced
				}
			}
		}
	}
	if !started || forced {
		t.Fatalf("takeover started %v, forced %v; want an automatic takeover, not forced", started, forced)
	}
}

// The caller is told a round of probes began once and ended once (the
// metric probe_rounds_total counts them), not again at every event while
// it runs.
func TestARoundOfProbesIsToldOnceBegunAndOnceEnded(t *testing.T) {
	m := New(confirmParams(), t0, false)
	now := t0
	for range 5 {
		now = now.Add(time.Second)
		m.Handle(Heartbeat{At: now, Link: "priv0", Interval: time.Second, MAC: primaryMAC})
		m.Handle(Heartbeat{At: now, Link: "pub0", Interval: time.Second, MAC: primaryMAC})
	}
	var probe []string
	var begun, ended int
	var how ProbeOutcome
	took := false
	count := func(acts []Action) {
		for _, a := range acts {
			switch a := a.(type) {
			case ProbeRound:
				if a.On {
					begun++
				} else {
					ended++
					how = a.How
				}
			case Probe:
				probe = a.Links
			case StartJob:
				took = took || a.Job == Takeover
			}
		}
	}
	for at := now.Add(1250 * time.Millisecond); !took && at.Before(now.Add(2*time.Second)); at = at.Add(5 * time.Millisecond) {
		count(m.Handle(Tick{At: at}))
		count(m.Handle(Asked{At: at}))
		for _, l := range probe {
			count(m.Handle(Probed{At: at, Link: l}))
		}
	}
	if !took || begun != 1 || ended != 1 || how != ProbeConfirmed {
		t.Fatalf("takeover %v; told a round begun %d times, ended %d times (last %q); want one round, confirmed", took, begun, ended, how)
	}
}

// The primary said its service fails (keeping its own address), then
// died: the takeover on its silence, vetoed by Test, is asked again
// VetoRetry later, as for a healthy primary. Its last word on its health
// does not keep the secondary vetoed for ever.
func TestAVetoedTakeoverOfAnUnhealthyPrimaryThatDiedIsAskedAgain(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(3*time.Second, "priv0", "pub0")
	tl.beatWith(true, false)
	tl.expect(Standby, "notice primary-unhealthy")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed, "notice veto")
	tl.run(29900 * time.Millisecond)
	tl.expect(Vetoed)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")
}
