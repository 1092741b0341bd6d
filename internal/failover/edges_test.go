package failover

// Behaviour at edges the mutation run (gremlins) found untested: each
// test names what a user, an operator or the primary would see. They
// drive the machine through New, Handle and Status alone, with the
// timeline harness.

import (
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
