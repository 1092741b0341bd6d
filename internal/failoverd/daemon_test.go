package failoverd

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func stagesOf(hs []hooks.Result) []hooks.Stage {
	var out []hooks.Stage
	for _, h := range hs {
		out = append(out, h.Stage)
	}
	return out
}

func wantStages(t *testing.T, what string, got []hooks.Stage, want ...hooks.Stage) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: stages %v, want %v", what, got, want)
	}
}

func TestTakeoverAtTheTimeoutAndGiveBackAfterTheHoldDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		if s := w.d.State(); s != failover.Standby {
			t.Fatalf("state %s while heard on both links", s)
		}
		w.waitState(failover.Active, 2*time.Second)
		// The deadline timer is set lazily; the takeover still starts
		// at the timeout, not at some later re-arm.
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < timeout || took > timeout+time.Millisecond {
			t.Fatalf("took over %v after the last heartbeat; timeout %v", took, timeout)
		}
		if !w.holds() {
			t.Fatal("active, but the address was not added")
		}
		wantStages(t, "takeover", w.hooks.stages(), hooks.Test, hooks.PreAcq, hooks.PostAcq)
		ev, ok := w.notices.last(notice.Takeover)
		if !ok {
			t.Fatalf("no takeover notice: %v", w.notices.kinds())
		}
		wantStages(t, "takeover notice", stagesOf(ev.Hooks), hooks.Test, hooks.PreAcq, hooks.PostAcq)

		// The primary returns: the address stays for the hold-down.
		w.hooks.reset()
		back := time.Now()
		w.beatFor(holdDown - 2*interval)
		if w.d.State() != failover.Active || !w.holds() {
			t.Fatalf("gave back %v after the primary returned; hold-down %v", time.Since(back), holdDown)
		}
		for w.d.State() != failover.Standby {
			if time.Since(back) > holdDown+time.Second {
				t.Fatalf("no give-back %v after the primary returned", time.Since(back))
			}
			w.beatFor(interval)
		}
		if w.holds() {
			t.Fatal("standby, but the address is still held")
		}
		wantStages(t, "give-back", w.hooks.stages(), hooks.Test, hooks.PreRel, hooks.PostRel)
		ev, _ = w.notices.last(notice.GiveBack)
		wantStages(t, "give-back notice", stagesOf(ev.Hooks), hooks.Test, hooks.PreRel, hooks.PostRel)
		rel := w.peer.ofType(t, w.keys, wire.Released)
		if len(rel) != 1 || rel[0].Sender != "server2" || rel[0].Message != wire.EpochMessage(primaryEpoch) {
			t.Fatalf("released sent: %+v, want one naming the primary's epoch", rel)
		}
		w.stop()
	})
}

func TestGoodbyeTakesOverAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		at := time.Now()
		w.goodbye("priv0")
		w.waitState(failover.Active, time.Second)
		if d := time.Since(at); d != 0 {
			t.Fatalf("took over %v after the goodbye, want at once", d)
		}
		w.stop()
	})
}

// The failure notices are the mails that most need the hooks that ran.
func TestFailureNoticesCarryTheHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.manager.Fail(w.addr.Addr(), errors.New("netlink: operation not permitted"))
		w.waitState(failover.Active, 2*time.Second)
		ev, ok := w.notices.last(notice.TakeoverFailed)
		if !ok {
			t.Fatalf("no takeover-failed notice: %v", w.notices.kinds())
		}
		wantStages(t, "takeover-failed notice", stagesOf(ev.Hooks), hooks.Test, hooks.PreAcq, hooks.PostAcq)
		if !strings.Contains(ev.Detail, "operation not permitted") {
			t.Fatalf("detail %q does not say why", ev.Detail)
		}

		w.manager.Fail(w.addr.Addr(), nil)
		w.beatFor(interval) // the reconcile tick is not running: take it by hand
		if err := w.manager.Acquire(t.Context(), w.addr); err != nil {
			t.Fatal(err)
		}
		w.manager.Fail(w.addr.Addr(), errors.New("address busy"))
		w.beatFor(holdDown + 2*interval)
		ev, ok = w.notices.last(notice.GiveBackFailed)
		if !ok {
			t.Fatalf("no giveback-failed notice: %v", w.notices.kinds())
		}
		wantStages(t, "giveback-failed notice", stagesOf(ev.Hooks), hooks.Test, hooks.PreRel, hooks.PostRel)
		if n := len(w.peer.ofType(t, w.keys, wire.Released)); n != 0 {
			t.Fatalf("released sent although the address is still here (%d)", n)
		}
		w.manager.Fail(w.addr.Addr(), nil)
		w.stop()
	})
}

func TestTestThatCannotRunVetoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.hooks.fail[hooks.Test] = errUnsafe
		w.beatFor(time.Second)
		w.waitState(failover.Vetoed, 2*time.Second)
		if w.holds() {
			t.Fatal("the address was taken although Test could not run")
		}
		wantStages(t, "vetoed takeover", w.hooks.stages(), hooks.Test)
		ev, ok := w.notices.last(notice.Veto)
		if !ok || !strings.Contains(ev.Detail, errUnsafe.Error()) {
			t.Fatalf("veto notice %+v does not say why", ev)
		}
		if len(ev.Hooks) != 1 || ev.Hooks[0].OK() || !errors.Is(ev.Hooks[0].Err, errUnsafe) {
			t.Fatalf("veto notice hooks %+v", ev.Hooks)
		}
		st := w.d.Status()
		if len(st.Stages) != 1 || st.Stages[0].Hooks[0].Outcome() != errUnsafe.Error() {
			t.Fatalf("status stages %+v", st.Stages)
		}
		w.stop()
	})
}

func TestPreAcqFailureIsNoticedAndTheTakeoverGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.hooks.exit[hooks.PreAcq] = 3
		w.beatFor(time.Second)
		w.waitState(failover.Active, 2*time.Second)
		if !w.holds() {
			t.Fatal("a failing PreAcq stopped the takeover")
		}
		ev, ok := w.notices.last(notice.HookFailure)
		if !ok {
			t.Fatalf("no hook-failure notice: %v", w.notices.kinds())
		}
		if i := slices.IndexFunc(ev.Hooks, func(h hooks.Result) bool { return !h.OK() }); i < 0 || ev.Hooks[i].Stage != hooks.PreAcq || ev.Hooks[i].Exit != 3 {
			t.Fatalf("hook-failure notice hooks %+v", ev.Hooks)
		}
		w.stop()
	})
}

// A stage refused as unsafe: the hook-failure notice, in the log as in
// the mail, says why, not only that a hook failed.
func TestUnsafePreAcqIsLoggedWithItsReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.hooks.fail[hooks.PreAcq] = errUnsafe
		w.beatFor(time.Second)
		w.waitState(failover.Active, 2*time.Second)
		ev, ok := w.notices.last(notice.HookFailure)
		if !ok || !strings.Contains(ev.Detail, errUnsafe.Error()) || !strings.Contains(ev.Detail, "PreAcq") {
			t.Fatalf("hook-failure notice %+v does not say which stage failed and why", ev)
		}
		if got := w.logs.lines("msg=notice", "kind=hook-failure", errUnsafe.Error()); len(got) != 1 {
			t.Fatalf("the hook-failure notice is logged without its reason:\n%s", strings.Join(w.logs.lines("kind=hook-failure"), "\n"))
		}
		w.stop()
	})
}

func TestAcquireWaitsForItsJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beat(links...)
		gate := make(chan struct{})
		w.hooks.gate[hooks.PostAcq] = gate
		answer := w.requestAsync(failover.OpAcquire)
		select {
		case r := <-answer:
			t.Fatalf("acquire answered before its job ended: %+v", r)
		default:
		}
		// Status while the job runs: acquiring, Test and PreAcq done.
		st := w.d.Status()
		if st.State != failover.Acquiring || len(st.Stages) != 2 {
			t.Fatalf("status during the job: %s, stages %+v", st.State, st.Stages)
		}
		// A release asked meanwhile is queued, and says so at once.
		r := w.request(failover.OpRelease)
		if !r.OK || !strings.Contains(r.Message, "a takeover is under way; your release runs after it") {
			t.Fatalf("release during a takeover: %+v", r)
		}
		close(gate)
		synctest.Wait()
		r = <-answer
		if !r.OK || !strings.HasPrefix(r.Message, "took the addresses over") {
			t.Fatalf("acquire answered %+v", r)
		}
		// The queued release ran after it.
		w.waitState(failover.Standby, time.Second)
		if w.holds() {
			t.Fatal("the queued release did not run")
		}
		w.stop()
	})
}

func TestVetoedAcquireSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beat(links...)
		w.hooks.exit[hooks.Test] = 1
		r := <-w.requestAsync(failover.OpAcquire)
		if r.OK || r.Error != "the Test hook said no; nothing changed" {
			t.Fatalf("vetoed acquire answered %+v", r)
		}
		w.stop()
	})
}

func TestHoldSurvivesARunningJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		gate := make(chan struct{})
		w.hooks.gate[hooks.PreAcq] = gate
		w.waitState(failover.Acquiring, time.Second)
		r := w.request(failover.OpHold)
		if !strings.Contains(r.Message, "a takeover is under way; failoverd holds when it ends") {
			t.Fatalf("hold during a takeover: %+v", r)
		}
		close(gate)
		w.waitState(failover.Held, time.Second)
		// Held: the primary's return gives nothing back.
		w.beatFor(holdDown + time.Second)
		if w.d.State() != failover.Held || !w.holds() {
			t.Fatalf("held, yet state %s, holds %v", w.d.State(), w.holds())
		}
		if r := w.request(failover.OpResume); !r.OK {
			t.Fatalf("resume: %+v", r)
		}
		for end := time.Now().Add(holdDown + time.Second); w.d.State() != failover.Standby; {
			if time.Now().After(end) {
				t.Fatalf("no give-back after resume: %s", w.d.State())
			}
			w.beatFor(interval)
		}
		w.stop()
	})
}

func TestStopWhileHoldingGivesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true) // a crash left the address here
		if w.d.State() != failover.Active {
			t.Fatalf("holding at start, state %s", w.d.State())
		}
		w.stop()
		if w.holds() {
			t.Fatal("still holding after a clean stop")
		}
		wantStages(t, "stop", w.hooks.stages(), hooks.PreRel, hooks.PostRel) // no Test: failoverd goes either way
		if rel := w.peer.packets(t, w.keys); len(rel) != 1 || rel[0].Type != wire.Released || rel[0].Message != "" {
			t.Fatalf("sent %+v on stop, want one released naming no epoch (none was heard)", rel)
		}
		ev, ok := w.notices.last(notice.GiveBack)
		if !ok || ev.Detail != "failoverd stopped and gave the addresses back" {
			t.Fatalf("give-back notice %+v", ev)
		}
		wantStages(t, "stop notice", stagesOf(ev.Hooks), hooks.PreRel, hooks.PostRel)
		if r := w.request(control.OpStatus); r.Error != "failoverd is stopping" {
			t.Fatalf("request after stop: %+v", r)
		}
	})
}

func TestAnomalyNoticeHasNoHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		for end := time.Now().Add(timeout + 2*interval); time.Now().Before(end); {
			w.beat("priv0")
			time.Sleep(interval)
		}
		if w.d.State() != failover.Degraded {
			t.Fatalf("state %s with pub0 silent", w.d.State())
		}
		ev, ok := w.notices.last(notice.Anomaly)
		if !ok || len(ev.Hooks) != 0 || !slices.ContainsFunc(ev.Links, func(l notice.Link) bool { return l.Name == "pub0" && !l.Alive }) {
			t.Fatalf("anomaly notice %+v", ev)
		}
		w.stop()
	})
}

// While heartbeats come the process wakes only for them: the deadline
// timer never fires, and is set at every other batch of heartbeats (the
// deadline is three intervals after the last one).
func TestHeartbeatsDoNotWakeTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second) // leave Starting
		w.timer.zero()
		const batches = 100
		for range batches {
			w.beat(links...)
			time.Sleep(interval)
		}
		resets, fires := w.timer.get()
		if fires != 0 || resets > batches/2+1 {
			t.Fatalf("%d batches of heartbeats: the timer was set %d times and fired %d times", batches, resets, fires)
		}
		if w.d.State() != failover.Standby {
			t.Fatalf("state %s", w.d.State())
		}
		// Silence: it fires at the deadline, and the takeover starts.
		w.waitState(failover.Active, time.Second)
		if _, fires := w.timer.get(); fires == 0 {
			t.Fatal("took over without the timer firing")
		}
	})
}

// Heartbeats that arrived in time but were not read yet (the process was
// busy) are taken before a link is counted silent.
func TestUnreadHeartbeatsAreTakenBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		// The reader falls behind for three timeouts; heartbeats keep
		// arriving.
		for end := time.Now().Add(3 * timeout); time.Now().Before(end); {
			w.arrive(links...)
			time.Sleep(interval)
		}
		if s := w.d.State(); s != failover.Standby {
			t.Fatalf("state %s although heartbeats arrived on every link; notices %v", s, w.notices.kinds())
		}
	})
}

// A notice that does not tell how a job went carries no hooks, also when
// it comes of a job's end.
func TestPrimaryBackNoticeCarriesNoHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false, func(c *Config) { c.Machine.AutoGiveBack = false })
		w.beatFor(time.Second)
		gate := make(chan struct{})
		w.hooks.gate[hooks.PostAcq] = gate
		w.waitState(failover.Acquiring, time.Second)
		w.beatFor(holdDown + interval) // the primary is back during the takeover
		close(gate)
		w.waitState(failover.Active, time.Second)
		w.beatFor(interval)
		ev, ok := w.notices.last(notice.PrimaryBack)
		if !ok {
			t.Fatalf("no primary-back notice: %v", w.notices.kinds())
		}
		if len(ev.Hooks) != 0 {
			t.Fatalf("primary-back notice carries hooks: %+v", ev.Hooks)
		}
		if ev, _ := w.notices.last(notice.Takeover); len(ev.Hooks) != 3 {
			t.Fatalf("takeover notice hooks %+v", ev.Hooks)
		}
	})
}

// The control socket listens before Run starts: a request then must be
// answered, not crash the process.
func TestRequestBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &world{t: t, src: newSource(), hooks: newHooks(), manager: takeover.NewFake(), notices: &notices{}, peer: &peer{},
			addr: takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}}
		w.mover = &takeover.Mover{Manager: w.manager}
		d := New(Config{Node: "server2", Peer: netip.MustParseAddr("192.0.2.1"), Addresses: []takeover.Address{w.addr},
			Machine: failover.Params{Links: links, DefaultInterval: interval, InitialGrace: timeout, HoldDown: holdDown}},
			Deps{Source: w.src, Mover: w.mover, Hooks: w.hooks, Notifier: w.notices, Released: w.peer, Clock: GoClock{}})
		for _, op := range []failover.Op{failover.OpHold, failover.OpResume} {
			if r := d.Handle(t.Context(), control.Request{Op: op}); !r.OK {
				t.Fatalf("%s before Run: %+v", op, r)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// The notices that say all is well again (a give-back, an anomaly
// cleared) are logged as information; the others as warnings, for the
// operator who filters the log by level.
func TestGoodNewsNoticesAreLoggedAsInformation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		for end := time.Now().Add(timeout + 2*interval); time.Now().Before(end); {
			w.beat("priv0")
			time.Sleep(interval)
		}
		w.beatFor(2 * interval)
		if k := w.notices.kinds(); !slices.Contains(k, notice.AnomalyCleared) {
			t.Fatalf("notices %v, want an anomaly and its end", k)
		}
		if got := w.logs.lines("level=WARN", "msg=notice", "kind=anomaly detail="); len(got) != 1 {
			t.Errorf("the anomaly is not logged as a warning:\n%s", strings.Join(w.logs.lines("msg=notice"), "\n"))
		}
		if got := w.logs.lines("level=INFO", "msg=notice", "kind=anomaly-cleared"); len(got) != 1 {
			t.Errorf("the anomaly's end is not logged as information:\n%s", strings.Join(w.logs.lines("msg=notice"), "\n"))
		}
		w.stop()
	})
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.stop()
		if got := w.logs.lines("level=INFO", "msg=notice", "kind=giveback"); len(got) != 1 {
			t.Errorf("the give-back is not logged as information:\n%s", strings.Join(w.logs.lines("msg=notice"), "\n"))
		}
	})
}

// A stop while holding waits for the give-back's hooks (a PreRel that
// unmounts a disk takes its time), for five minutes at most when no
// bound is set; then failoverd goes.
func TestStopWaitsFiveMinutesForTheGiveBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.hooks.gate[hooks.PreRel] = make(chan struct{}) // never opens
		start := time.Now()
		stopped := make(chan struct{})
		go func() { w.stop(); close(stopped) }()
		select {
		case <-stopped:
			t.Fatalf("stopped %v after the stop began, with PreRel still running", time.Since(start))
		case <-time.After(5*time.Minute - time.Millisecond):
		}
		<-stopped
		if took := time.Since(start); took != 5*time.Minute {
			t.Fatalf("stopped %v after the stop began, want 5m (the default bound)", took)
		}
	})
}

// A stop whose give-back fails says so in its notice.
func TestStopThatCannotGiveBackSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.manager.Fail(w.addr.Addr(), errors.New("netlink: operation not permitted"))
		w.stop()
		ev, ok := w.notices.last(notice.GiveBack)
		if !ok || !strings.HasPrefix(ev.Detail, "failoverd stopped and gave the addresses back, with errors: ") || !strings.Contains(ev.Detail, "operation not permitted") {
			t.Fatalf("give-back notice %+v %v: want one that says which error", ev, ok)
		}
	})
}

// A host that held every address at start (a crash after a finished
// takeover) has nothing to complete: with the primary silent past the
// grace, no hook runs and nothing is noticed.
func TestEveryAddressHeldAtStartIsNoTakeoverToComplete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		time.Sleep(2 * time.Second)
		if st := w.hooks.stages(); len(st) != 0 {
			t.Fatalf("hooks %v ran for addresses held since the start", st)
		}
		if k := w.notices.kinds(); len(k) != 0 {
			t.Fatalf("notices %v for addresses held since the start", k)
		}
		if w.d.State() != failover.Active || !w.holds() {
			t.Fatalf("state %s, holds %v", w.d.State(), w.holds())
		}
	})
}

// The primary's host is probed at its private address on the private
// link from the start, before a heartbeat came there: a primary heard
// only on its public link until it died is confirmed dead by the probes,
// not at the timeout.
func TestPrivateLinkIsProbedBeforeItIsHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		w := newWorldAsking(t, false, a, confirming)
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			w.beat("pub0")
			time.Sleep(interval)
		}
		w.waitState(failover.Active, time.Second)
		if n := a.probed("priv0"); n == 0 {
			t.Fatalf("the private link was not probed (state %s)", w.d.State())
		}
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took >= timeout {
			t.Fatalf("took over %v after the last heartbeat, at the timeout (%v): the probes did not confirm", took, timeout)
		}
	})
}

// A takeover stopped by an answer during its hooks, where no PreRel or
// PostRel hook exists: its notice does not say they ran to undo it.
func TestStoppedTakeoverWithNothingToUndoDoesNotSayItUndid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, w := stoppedTakeover(t, func(w *world) {
			w.hooks.none[hooks.PreRel] = true
			w.hooks.none[hooks.PostRel] = true
		})
		w.waitState(failover.Conflict, time.Second)
		ev, ok := w.notices.last(notice.TakeoverFailed)
		if !ok || strings.Contains(ev.Detail, "undo") || !strings.Contains(ev.Detail, primaryMAC) {
			t.Fatalf("notice %+v %v: want one that says who answered and nothing of an undo", ev, ok)
		}
	})
}

// A stage that cannot run (an unsafe folder) is logged with its stage
// and why, and the job goes on; stages that run are not logged so.
func TestStageThatCannotRunIsLogged(t *testing.T) {
	for _, unsafe := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, false)
			if unsafe {
				w.hooks.fail[hooks.PreAcq] = errUnsafe
			}
			w.beatFor(time.Second)
			w.waitState(failover.Active, 2*time.Second)
			got := w.logs.lines("level=ERROR", `msg="hooks cannot run; going on without them"`)
			if unsafe && (len(got) != 1 || !strings.Contains(got[0], "stage=PreAcq") || !strings.Contains(got[0], "writable by group or others")) {
				t.Fatalf("an unsafe PreAcq folder, logged:\n%s", strings.Join(got, "\n"))
			}
			if !unsafe && len(got) != 0 {
				t.Fatalf("every stage ran, yet:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

// Holding the addresses with nothing due (the primary silent, no
// question to ask), the process wakes once a second for the watchdog,
// not more.
func TestNothingDueWakesOnceASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		time.Sleep(time.Second)
		w.timer.zero()
		time.Sleep(10 * time.Second)
		if _, fires := w.timer.get(); fires < 9 || fires > 11 {
			t.Fatalf("the timer fired %d times in 10 s with nothing due, want once a second", fires)
		}
	})
}

// Heartbeats that come a little late, as real ones do, do not wake the
// timer either: it is set again before the deadline it was set for.
func TestLateHeartbeatsDoNotWakeTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second) // leave Starting
		w.timer.zero()
		for range 100 {
			w.beat(links...)
			time.Sleep(interval + time.Millisecond)
		}
		if _, fires := w.timer.get(); fires != 0 {
			t.Fatalf("100 heartbeats 1 ms late: the timer fired %d times", fires)
		}
	})
}

// An operator's release while the primary is silent: the give-back's
// notice says the primary is silent (not that the addresses went back
// to it), and the takeover that follows gives the true silence since the
// last heartbeat, and since the give-back: the rules count each link
// from its end, so it comes once the links have been silent for a
// timeout from there or, with probes and a hold-down since, when a round
// goes unanswered.
func TestAReleaseWhileThePrimaryIsSilentSaysSoAndIsTakenAgainAsDocumented(t *testing.T) {
	for _, probes := range []bool{false, true} {
		t.Run(fmt.Sprintf("probes=%v", probes), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var asker *fakeAsker
				tune := func(*Config) {}
				if probes {
					asker = newAsker()
					tune = func(c *Config) { c.Machine.Confirm, c.Machine.HoldDown = true, interval }
				}
				w := newWorldAsking(t, false, asker, tune)
				w.beatFor(time.Second)
				last := w.lastBeat
				w.waitState(failover.Active, time.Second)
				time.Sleep(2 * time.Second) // the primary stays silent
				if r := w.request(failover.OpRelease); !r.OK {
					t.Fatalf("release: %+v", r)
				}
				gave, ok := w.notices.last(notice.GiveBack)
				if !ok {
					t.Fatalf("no giveback notice: %v", w.notices.kinds())
				}
				if strings.Contains(gave.Detail, "back to the primary") || !strings.Contains(gave.Detail, "silent") {
					t.Errorf("giveback notice: %q; want it to say the primary is silent", gave.Detail)
				}
				if s := gave.Subject(); strings.Contains(s, "back to") {
					t.Errorf("giveback notice's subject: %q; the primary is silent", s)
				}
				for _, l := range gave.Links {
					if l.Alive {
						t.Errorf("giveback notice: link %s alive, last heard %v before", l.Name, gave.At.Sub(l.LastHeard))
					}
				}
				w.waitState(failover.Active, 2*timeout)
				var start history.Entry
				for _, e := range w.d.Events(gave.At) {
					if e.Kind == history.KindJobStart && e.Job == failover.Takeover {
						start = e
					}
				}
				took := start.At.Sub(gave.At)
				if earliest := timeout; probes {
					// A round begins an interval and a quarter after
					// the give-back (its hold-down is shorter).
					if earliest = interval + interval/4; took < earliest || took >= timeout {
						t.Errorf("taken again %v after the give-back; want a round of probes to decide, from %v on, before the timeout (%v)", took, earliest, timeout)
					}
				} else if took < earliest {
					t.Errorf("taken again %v after the give-back, before a timeout (%v)", took, timeout)
				}
				silence := fmt.Sprintf("for %v, and none in the %v since the give-back", start.At.Sub(last).Round(time.Millisecond), took.Round(time.Millisecond))
				if !strings.Contains(start.Detail, silence) {
					t.Errorf("the takeover's reason: %q; want the silence since the last heartbeat and since the give-back (%s)", start.Detail, silence)
				}
				w.stop()
			})
		})
	}
}
