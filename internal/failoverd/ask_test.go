package failoverd

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

const primaryMAC = "02:00:00:00:00:01"

// A dead primary: the questions go out before the timeout, nobody
// answers, and the takeover starts at the timeout as without asking.
func TestAskingDeadPrimaryTakenAtTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		if n := a.asked(); n > 10 {
			t.Fatalf("%d questions while the primary was heard (only the first moments learn its MAC)", n)
		}
		before := a.asked()
		w.waitState(failover.Active, 2*time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < timeout || took > timeout+time.Millisecond {
			t.Fatalf("took over %v after the last heartbeat; timeout %v", took, timeout)
		}
		if a.asked()-before < 3 {
			t.Fatalf("%d questions before the takeover", a.asked()-before)
		}
	})
}

// heartbeatd killed on a live host: the address still answers, so it is
// not taken; status says conflict and who answers; once the host goes
// away the takeover follows.
func TestLiveHostIsNotTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, w := inConflict(t)
		time.Sleep(5 * time.Second)
		if w.holds() || w.d.State() != failover.Conflict {
			t.Fatalf("state %s, holds %v, while the primary's host answers", w.d.State(), w.holds())
		}
		if k := w.notices.kinds(); strings.Count(strings.Join(toStrings(k), " "), "conflict") != 1 {
			t.Fatalf("notices %v, want one conflict notice", k)
		}
		st := w.d.Status()
		if st.Answering == nil || st.Answering.MAC != primaryMAC || !st.Answering.Primary {
			t.Fatalf("status answering %+v, want the primary's MAC", st.Answering)
		}
		a.answering("")
		gone := time.Now()
		w.waitState(failover.Active, time.Second)
		// Sixteen questions at the suspicion's pace (a thirtieth of
		// the timeout), the first of them unanswered: it answered in
		// this run of questions.
		if took := time.Since(gone); took > 17*timeout/30+50*time.Millisecond {
			t.Fatalf("took over %v after the host went away", took)
		}
	})
}

func toStrings(ks []notice.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// A goodbye with the host's own address up: the takeover waits for it to
// stop answering, then follows within seventeen questions at the
// suspicion's pace (a thirtieth of the timeout): sixteen unanswered, since
// it answered in this run; a service address removed before the goodbye
// is taken within milliseconds.
func TestGoodbyeWaitsForTheAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		w.goodbye("priv0")
		w.goodbye("pub0")
		time.Sleep(time.Second)
		if s := w.d.State(); s != failover.Asking || w.holds() {
			t.Fatalf("state %s, holds %v, a second after the goodbye with the address answering", s, w.holds())
		}
		a.answering("")
		gone := time.Now()
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(gone); took > 17*timeout/30+time.Millisecond {
			t.Fatalf("took over %v after the address stopped answering", took)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		w := newWorldAsking(t, false, newAsker())
		w.beatFor(time.Second)
		bye := time.Now()
		w.goodbye("priv0")
		w.goodbye("pub0")
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(bye); took > 3*time.Millisecond {
			t.Fatalf("took a service address over %v after the goodbye", took)
		}
	})
}

// An operator's acquire is refused while another host answers, and goes
// ahead with --force.
func TestAcquireRefusedWhileAnsweredUnlessForced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		r := w.request(failover.OpAcquire)
		if r.OK || !strings.Contains(r.Error, primaryMAC) || !strings.Contains(r.Error, "--force") {
			t.Fatalf("acquire while answered: %+v", r)
		}
		if w.holds() {
			t.Fatal("acquired while answered")
		}
		r = w.d.Handle(t.Context(), control.Request{Op: failover.OpAcquire, Force: true})
		if !r.OK || !w.holds() {
			t.Fatalf("forced acquire: %+v, holds %v", r, w.holds())
		}
	})
}

// An operator's acquire counts the answers that arrived while its
// reader was short of CPU: a live host's answer waiting unread refuses
// it as one read at once would. Found by the simulation (seed 17288 at
// 5148adf): failoverd's readers stalled as the acquire asked, and it took
// the address the primary answered for.
func TestAcquireCountsTheAnswersWaitingUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		a.stall(true)
		r := w.request(failover.OpAcquire)
		if r.OK || !strings.Contains(r.Error, primaryMAC) {
			t.Fatalf("acquire with the primary's answers unread: %+v", r)
		}
		if w.holds() {
			t.Fatal("acquired while the primary answered")
		}
	})
}

// An operator's acquire asks the address's link first: with that link
// dark while it asks, or gone dark so lately that failoverd may not know
// yet, nobody could answer, and silence says nothing. It is refused,
// naming the link; --force takes it anyway. Found by the simulation
// (seed 4009 at f0e839b): the secondary's public link flapped, the
// acquire's questions went into the dark, and both hosts answered once
// it came back.
func TestAcquireRefusedWhenItsLinkIsDark(t *testing.T) {
	// The loss told before the acquire, while it asks (its questions
	// take 30 ms here), and after, within an eighth of the interval
	// (12.5 ms).
	for _, told := range []time.Duration{-1, time.Millisecond, 35 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			a := newAsker() // nothing is heard: the link is dark
			w := newWorldAsking(t, false, a)
			w.beatFor(time.Second)
			var r control.Response
			if told >= 0 {
				answer := w.requestAsync(failover.OpAcquire)
				time.Sleep(told)
				w.carrier <- carrierChange{"pub0", false}
				r = <-answer
			} else {
				w.carrier <- carrierChange{"pub0", false}
				synctest.Wait()
				r = w.request(failover.OpAcquire)
			}
			if r.OK || !strings.Contains(r.Error, "pub0") || !strings.Contains(r.Error, "--force") {
				t.Fatalf("acquire with pub0 dark (told at %v): %+v", told, r)
			}
			if w.holds() {
				t.Fatal("acquired with its link dark")
			}
			r = w.d.Handle(t.Context(), control.Request{Op: failover.OpAcquire, Force: true})
			if !r.OK || !w.holds() {
				t.Fatalf("forced acquire: %+v, holds %v", r, w.holds())
			}
		})
	}
}

// A conflict that lasts runs Test alone, with the reason saying so.
func TestLastingConflictRunsTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a, func(c *Config) { c.Machine.ConflictTest = 2 * time.Second })
		w.hooks.exit[hooks.Test] = 1
		w.beatFor(time.Second)
		w.waitState(failover.Conflict, 2*time.Second)
		time.Sleep(2100 * time.Millisecond)
		if got := w.hooks.stages(); len(got) != 1 || got[0] != hooks.Test {
			t.Fatalf("stages %v, want Test alone", got)
		}
		if _, ok := w.notices.last(notice.HookFailure); !ok {
			t.Fatalf("no notice of the failed Test: %v", w.notices.kinds())
		}
		if w.holds() {
			t.Fatal("took the address while it answered")
		}
	})
}

// The primary answers again while the takeover's PreAcq hooks run: the
// job stops before it adds the address, PreRel and PostRel undo what
// PreAcq did (with the reason in FAILOVER_REASON), the state is conflict,
// and the notice carries every hook that ran.
func TestAnswerDuringTheHooksStopsTheTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, w := stoppedTakeover(t)
		w.waitState(failover.Conflict, time.Second)
		if w.holds() {
			t.Fatal("added the address although it answered during the hooks")
		}
		wantStages(t, "stopped takeover", w.hooks.stages(), hooks.Test, hooks.PreAcq, hooks.PreRel, hooks.PostRel)
		ev, ok := w.notices.last(notice.TakeoverFailed)
		if !ok || !strings.Contains(ev.Detail, "PreRel and PostRel ran to undo them") || !strings.Contains(ev.Detail, primaryMAC) {
			t.Fatalf("notice %+v %v: want one that says the hooks were undone and who answered", ev, ok)
		}
		wantStages(t, "stopped takeover's notice", stagesOf(ev.Hooks), hooks.Test, hooks.PreAcq, hooks.PreRel, hooks.PostRel)
		if r := w.hooks.lastReason(hooks.PostRel); !strings.Contains(r, "undo") {
			t.Fatalf("PostRel's reason %q does not say it undoes the stopped takeover", r)
		}
	})
}

// stoppedTakeover is a world whose takeover of a silent primary is under
// way, its PreAcq hooks running, when the primary's address answers
// again (questions go on during the job); the hooks then end. setup
// runs on the world first.
func stoppedTakeover(t *testing.T, setup ...func(*world)) (*fakeAsker, *world) {
	t.Helper()
	a := newAsker()
	w := newWorldAsking(t, false, a)
	for _, f := range setup {
		f(w)
	}
	gate := make(chan struct{})
	w.hooks.gate[hooks.PreAcq] = gate
	w.beatFor(time.Second)
	w.waitState(failover.Acquiring, time.Second)
	a.answering(primaryMAC)
	time.Sleep(100 * time.Millisecond) // questions go on during the job
	close(gate)
	return a, w
}

// confirming is a world that probes the primary's host (FAILOVER_CONFIRM).
func confirming(c *Config) { c.Machine.Confirm = true }

// A dead primary's host answers no probe: taken over an interval and a
// quarter after its last heartbeat, four probes (1 ms apart at a 100 ms
// interval) and an eighth of the interval (a carrier loss told late
// would discount them), not at the timeout (300 ms).
func TestConfirmedDeadPrimaryTakenBeforeTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < 141*time.Millisecond || took > 143*time.Millisecond {
			t.Fatalf("took over %v after the last heartbeat, want 125 ms + 4 probes of 1 ms + 12.5 ms", took)
		}
		for _, l := range links {
			if n := a.probed(l); n != 4 {
				t.Errorf("%d probes on %s, want 4", n, l)
			}
		}
		var kinds []string
		for _, e := range w.d.Events(time.Time{}) {
			if e.Kind == history.KindProbe {
				kinds = append(kinds, e.Outcome)
			}
		}
		if strings.Join(kinds, ",") != ","+string(failover.ProbeConfirmed) {
			t.Errorf("probe rounds in the history: %q, want one begun and confirmed", kinds)
		}
	})
}

// The primary's host answers its private address (heartbeatd stopped on
// a live host): nothing is taken before the timeout; then the usual
// rules (nobody answers for the address to take: the takeover).
func TestConfirmAnsweredWaitsForTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.only = map[netip.Addr]bool{senders["priv0"]: true}
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < timeout {
			t.Fatalf("took over %v after the last heartbeat while its host answered; timeout %v", took, timeout)
		}
		if n := a.probed("priv0"); n != 1 {
			t.Fatalf("%d probes on priv0, want one round ended by the first answer", n)
		}
	})
}

// The private link's carrier goes (the primary lost power): probed at
// once, the private link without a frame; taken over 4 probes of 1 ms
// and an eighth of the interval (12.5 ms) later, long before any
// heartbeat is late.
func TestCarrierLossTakesOverAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		time.Sleep(10 * time.Millisecond)
		lost := time.Now()
		w.carrier <- carrierChange{"priv0", false}
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(lost); took < 16*time.Millisecond || took > 17*time.Millisecond {
			t.Fatalf("took over %v after the carrier loss, want 4 probes of 1 ms and 12.5 ms", took)
		}
		if n := a.probed("priv0"); n != 0 {
			t.Fatalf("%d probes sent on a link without carrier", n)
		}
		if st := w.d.Status(); !st.Links[0].NoCarrier {
			t.Fatalf("status links %+v: the carrier loss is not shown", st.Links)
		}
		if !slices.ContainsFunc(w.d.Events(time.Time{}), func(e history.Entry) bool {
			return e.Kind == history.KindCarrier && e.Link == "priv0" && e.Outcome == "lost"
		}) {
			t.Errorf("the history does not show priv0's carrier lost: %+v", w.d.Events(time.Time{}))
		}
	})
}

// The carrier goes on a live primary's private link (a pulled cable):
// its public address answers, so nothing is taken.
func TestCarrierLossWithThePrimaryAnswering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.only = map[netip.Addr]bool{senders["pub0"]: true}
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.carrier <- carrierChange{"priv0", false}
		w.beatFor(time.Second)
		if s := w.d.State(); s != failover.Degraded && s != failover.Standby || w.holds() {
			t.Fatalf("state %s, holds %v: taken over while the primary answers", s, w.holds())
		}
	})
}

// A primary whose public heartbeats come from behind a router (its
// address in no subnet of the link): nothing there answers ARP for it,
// so the link is not probed, and the timeout decides.
func TestOffLinkSenderIsNotProbed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a, confirming, func(c *Config) {
			c.OnLink = func(link string, addr netip.Addr) bool { return link == "priv0" }
		})
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < timeout {
			t.Fatalf("took over %v after the last heartbeat, before the timeout %v, with pub0 unprobeable", took, timeout)
		}
		if n := a.probed("pub0"); n != 0 {
			t.Fatalf("%d probes sent to an address off the link", n)
		}
	})
}

// Status says how often failoverd asks who answers for the addresses:
// not while the primary is heard, at the suspicion's pace in a conflict.
func TestStatusSaysWhenItAsks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		if every := w.d.Status().AskEvery; every != 0 {
			t.Fatalf("asking every %v while the primary is heard", every)
		}
		w.waitState(failover.Conflict, 2*time.Second)
		if every := w.d.Status().AskEvery; every != timeout/30 {
			t.Fatalf("asking every %v in a conflict, want a thirtieth of the timeout (%v)", every, timeout/30)
		}
	})
}

// Status shows a link alive while its heartbeats come within the
// timeout, and silent once the timeout has passed without one.
func TestStatusShowsLinksAsHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.beat("priv0")
		time.Sleep(timeout - time.Millisecond)
		for _, l := range w.d.Status().Links {
			if want := l.Name == "priv0"; l.Alive != want {
				t.Fatalf("%s alive %v, %v after its last heartbeat (timeout %v)", l.Name, l.Alive, time.Since(w.lastBeat), timeout)
			}
		}
		time.Sleep(2 * time.Millisecond)
		for _, l := range w.d.Status().Links {
			if l.Alive {
				t.Fatalf("%s alive %v after its last heartbeat (timeout %v)", l.Name, time.Since(w.lastBeat), timeout)
			}
		}
	})
}

// Both of this host's links lose their carrier (its own cables, or its
// switch): the primary falls silent to it, and questions go into the
// dark, where nothing can answer. They must not count as unanswered:
// the address's link (Params.AddrLinks, which the runtime fills from the
// addresses) has no carrier. Found by the simulation (seed 10): New gave
// the machine the Params before it added the address links, so every
// question counted and a blip longer than the timeout took over a live
// primary.
func TestQuestionsIntoADarkLinkDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		w.carrier <- carrierChange{"priv0", false}
		w.carrier <- carrierChange{"pub0", false}
		time.Sleep(3 * timeout)
		synctest.Wait()
		if s := w.d.State(); s == failover.Acquiring || s == failover.Active || w.holds() {
			t.Fatalf("state %s, holds %v: questions asked with no carrier on the address's link counted", s, w.holds())
		}
		if a.asked() == 0 {
			t.Fatal("nothing was asked: the test shows nothing")
		}
	})
}

// The host-address mode: the primary's public heartbeats come from the
// address to take. After its goodbye (heartbeatd stopped, the host up)
// the takeover waits for sixteen unanswered questions, not three: three
// answers lost in a row must not hand a live host's address over. The
// runtime tells the machine which heartbeats come from an address to
// take.
func TestGoodbyeFromTheAddressToTakeAsksLonger(t *testing.T) {
	for _, own := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			a := newAsker()
			w := newWorldAsking(t, false, a)
			from := senders["pub0"]
			if own {
				from = w.addr.Addr()
			}
			for range 10 {
				w.src.in <- []monitor.Heard{
					{Link: "priv0", From: senders["priv0"], At: time.Now(), Packet: wire.Packet{Type: wire.Heartbeat, Epoch: primaryEpoch, Interval: interval}},
					{Link: "pub0", From: from, At: time.Now(), Packet: wire.Packet{Type: wire.Heartbeat, Epoch: primaryEpoch, Interval: interval}},
				}
				time.Sleep(interval)
			}
			before := a.asked()
			w.src.in <- []monitor.Heard{
				{Link: "priv0", From: senders["priv0"], At: time.Now(), Packet: wire.Packet{Type: wire.Goodbye, Epoch: primaryEpoch, Interval: interval}},
				{Link: "pub0", From: from, At: time.Now(), Packet: wire.Packet{Type: wire.Goodbye, Epoch: primaryEpoch, Interval: interval}},
			}
			w.waitState(failover.Active, time.Second)
			n := a.asked() - before
			if own && n < 16 || !own && n > 5 {
				t.Fatalf("heartbeats from the address to take: %v; taken after %d questions", own, n)
			}
		})
	}
}

// Questions that cannot be sent (the address's interface is gone) are a
// warning, at most once a second; questions that go are not.
func TestUnsendableQuestionsAreWarnedOfOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.unsendable = true
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		time.Sleep(3 * time.Second) // questions go every 10 ms
		warned := w.logs.lines("level=WARN", `msg="cannot ask who answers for an address"`, "no such device")
		if len(warned) < 3 || len(warned) > 4 {
			t.Fatalf("%d warnings in 3 s of unsendable questions, want one a second:\n%s", len(warned), strings.Join(warned, "\n"))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		if a.asked() == 0 {
			t.Fatal("nothing was asked: the test shows nothing")
		}
		if warned := w.logs.lines("cannot ask who answers"); len(warned) != 0 {
			t.Fatalf("questions went, yet:\n%s", strings.Join(warned, "\n"))
		}
	})
}

// An operator's acquire whose questions cannot be sent goes ahead (as
// silence alone decides), with a warning that says why it could not
// check.
func TestAcquireThatCannotAskSaysSo(t *testing.T) {
	for _, unsendable := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			a := newAsker()
			a.unsendable = unsendable
			w := newWorldAsking(t, false, a)
			if r := w.request(failover.OpAcquire); !r.OK || !w.holds() {
				t.Fatalf("acquire: %+v, holds %v", r, w.holds())
			}
			warned := w.logs.lines("level=WARN", `msg="cannot ask who answers for the addresses"`)
			if unsendable && (len(warned) != 1 || !strings.Contains(warned[0], "no such device")) {
				t.Fatalf("unsendable questions before an acquire, warnings:\n%s", strings.Join(warned, "\n"))
			}
			if !unsendable && len(warned) != 0 {
				t.Fatalf("questions went before an acquire, yet:\n%s", strings.Join(warned, "\n"))
			}
		})
	}
}

// The probes of the primary's host count while no question for the
// address can be sent: the round confirms the host gone at once (the
// history says so), and the address, whose holder nobody could ask
// after, is not taken.
func TestProbesCountWhileQuestionsCannotBeSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.unsendable = true
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.waitState(failover.Asking, time.Second)
		if took := time.Since(w.lastBeat); took >= timeout {
			t.Fatalf("asking %v after the last heartbeat, at the timeout (%v): the probes did not count", took, timeout)
		}
		var ends []string
		for _, e := range w.d.Events(time.Time{}) {
			if e.Kind == history.KindProbe && e.Outcome != "" {
				ends = append(ends, e.Outcome)
			}
		}
		if len(ends) != 1 || ends[0] != string(failover.ProbeConfirmed) {
			t.Fatalf("probe rounds ended %q, want one confirmed", ends)
		}
		time.Sleep(time.Second)
		if w.holds() {
			t.Fatal("took the address over though no question about it could be sent")
		}
	})
}

// A link that cannot be probed (the primary's heartbeats there come
// from behind a router) is logged, with the link, once a minute at most.
func TestUnprobeableLinkIsLoggedOnceAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a, confirming, func(c *Config) {
			c.OnLink = func(link string, addr netip.Addr) bool { return link == "priv0" }
			c.Machine.AutoGiveBack = false
		})
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		w.beatFor(time.Second) // a second round, later
		if err := w.request(failover.OpRelease); !err.OK {
			t.Fatalf("release: %+v", err)
		}
		w.waitState(failover.Standby, time.Second)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		got := w.logs.lines("level=WARN", "no address heard from the primary on the link, so it cannot be probed there; the timeout decides", "link=pub0")
		if len(got) != 1 {
			t.Fatalf("%d lines of the unprobeable link in two rounds, want 1:\n%s", len(got), strings.Join(w.logs.lines("probe"), "\n"))
		}
	})
}

// A carrier watch that fails is started again a second later, and its
// reports count again.
func TestFailedCarrierWatchIsStartedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.carrierFail <- errors.New("netlink: no buffer space available")
		failed := time.Now()
		select {
		case w.carrier <- carrierChange{"pub0", false}:
		case <-time.After(2 * time.Second):
			t.Fatal("nobody watches the carrier two seconds after the watch failed")
		}
		if took := time.Since(failed); took != time.Second {
			t.Fatalf("watched again %v after the failure, want a second", took)
		}
		synctest.Wait()
		if st := w.d.Status(); !st.Links[1].NoCarrier {
			t.Fatalf("status links %+v: the carrier loss after the restart is not shown", st.Links)
		}
		if got := w.logs.lines("level=ERROR", "cannot watch the links' carrier; watching again in a second", "no buffer space"); len(got) != 1 {
			t.Fatalf("the failure is not logged: %q", got)
		}
	})
}

// After a restart, failoverd has heard no heartbeat name the primary's
// MAC: an answer from it is from a MAC it cannot place, and neither the
// conflict notice nor an acquire's refusal calls it another host's.
func TestAfterARestartTheAnsweringMACIsNotCalledAnotherHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a) // started with the primary's heartbeatd gone, its host up
		w.waitState(failover.Conflict, 2*time.Second)
		ev, ok := w.notices.last(notice.Conflict)
		if !ok {
			t.Fatalf("no conflict notice: %v", w.notices.kinds())
		}
		if strings.Contains(ev.Detail, "not the primary's") || !strings.Contains(ev.Detail, "cannot tell") {
			t.Errorf("conflict notice: %q; want it to say failoverd cannot tell whose MAC it is", ev.Detail)
		}
		r := w.request(failover.OpAcquire)
		if r.OK || strings.Contains(r.Error, "not the primary's") || !strings.Contains(r.Error, "cannot tell") {
			t.Errorf("acquire: %+v; want a refusal that says failoverd cannot tell whose MAC it is", r)
		}
		if st := w.d.Status(); st.Answering == nil || st.Answering.Primary {
			t.Errorf("status answering: %+v", st.Answering)
		}
		w.stop()
	})
}
