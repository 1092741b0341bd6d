package failoverd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Actions a job tells its hooks (FAILOVER_ACTION): Test runs for both.
const (
	actAcquire = "acquire"
	actRelease = "release"
)

// jobResult is a finished job and every hook it ran, in order.
type jobResult struct {
	done       failover.JobDone
	hooks      []hooks.Result
	hookFailed bool // a Pre or Post hook failed; the job went on
	// unanswered: the arbiter did not answer a claim (Refused says so)
	unanswered bool
}

// startJobLocked runs a takeover or give-back in its own goroutine, so hooks
// never hold up heartbeats; its end comes back as a JobDone.
func (d *Daemon) startJobLocked(a failover.StartJob) {
	if d.stopping {
		return
	}
	d.log.Info("job starts", "job", a.Job, "reason", a.Reason)
	d.obs.JobStarted(a.Job, a.Reason, d.Clock.Now())
	d.jobs.Add(1)
	d.running++
	ctx := d.jobCtx
	go func() {
		defer d.jobs.Done()
		var r jobResult
		switch a.Job {
		case failover.Takeover:
			r = d.takeover(ctx, a.Reason, a.Forced)
		case failover.Fence:
			r.done.Vetoed, r.done.Reason = d.test(ctx, &r, actAcquire, a.Reason)
		default:
			r = d.giveBack(ctx, a.Reason, true)
		}
		r.done.At = d.Clock.Now()
		r.done.Job = a.Job
		d.log.Info("job done", "job", a.Job, "vetoed", r.done.Vetoed, "err", r.done.Err)
		d.jobDone(r)
	}()
}

// jobDone applies a job's end: the notices it causes carry its hooks,
// and the operators who asked for it get its outcome.
func (d *Daemon) jobDone(r jobResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running--
	d.obs.JobEnded(r.done, r.hooks)
	d.applyLocked(r.done, r.hooks)
	if r.unanswered {
		// The arbiter was out of reach when it was asked, whatever its
		// client says by now: the machine is told so, and told again
		// (below) when it is reached, so that the takeover is tried
		// again then, also when a round reached it again before this.
		if y := (failover.Yield{Arbiter: true}); d.told != y {
			d.told = y
			y.At = d.Clock.Now()
			d.applyLocked(y, nil)
		}
	}
	if r.done.Refused != "" {
		d.updateYieldLocked() // the claim's answer named the holder, or the arbiter answers again
	}
	if r.hookFailed {
		d.noticeLocked(notice.HookFailure, fmt.Sprintf("a hook failed during the %s; it went on: %s", r.done.Job, failedHooks(r.hooks)), r.hooks)
	}
	d.answerWaitersLocked(r.done)
	d.rearmLocked()
}

// failedHooks says which Pre and Post hooks failed and how, so that the
// notice's line in the log tells why (an unsafe folder, an exit code)
// and not only that a hook failed.
func failedHooks(rs []hooks.Result) string {
	var out []string
	for _, h := range rs {
		if h.Stage != hooks.Test && !h.OK() {
			out = append(out, h.Name+": "+h.Outcome())
		}
	}
	return strings.Join(out, "; ")
}

// runStage runs one stage's hooks for one address, keeps them for status
// and adds them to the job's list. A stage that cannot run at all shows as
// one failed result.
func (d *Daemon) runStage(ctx context.Context, r *jobResult, stage hooks.Stage, a takeover.Address, action, reason string) ([]hooks.Result, error) {
	env := hooks.Env{Action: action, Address: a.Addr(), Interface: a.Interface, PeerIP: d.cfg.Peer, Reason: reason}
	res, err := d.Hooks.Run(ctx, stage, env)
	shown := slices.Clone(res)
	if err != nil {
		shown = append(shown, hooks.StageError(stage, err))
	}
	r.hooks = append(r.hooks, shown...)
	if err != nil || slices.ContainsFunc(res, func(h hooks.Result) bool { return !h.OK() }) {
		r.hookFailed = r.hookFailed || stage != hooks.Test
	}
	d.mu.Lock()
	d.stages[stageKey{stage, a}] = control.Stage{Stage: stage, Address: a.String(), At: d.Clock.Now(), Hooks: shown}
	d.mu.Unlock()
	return res, err
}

// test runs every address's Test hook: any refusal, or a Test that
// cannot be run (unsafe, not executable), vetoes the job. why is empty
// when Test simply said no.
func (d *Daemon) test(ctx context.Context, r *jobResult, action, reason string) (vetoed bool, why string) {
	for _, a := range d.cfg.Addresses {
		res, err := d.runStage(ctx, r, hooks.Test, a, action, reason)
		if err != nil {
			d.log.Error("Test hook cannot run; not going ahead", "addr", a, "err", err)
			return true, "the Test hook of " + a.Addr().String() + " cannot run: " + err.Error()
		}
		for _, h := range res {
			if !h.OK() {
				d.log.Warn("Test hook said no", "addr", a, "hook", h.Path, "outcome", h.Outcome())
				return true, ""
			}
		}
	}
	return false, ""
}

// takeover: every address's Test, then every PreAcq*, all addresses
// added and announced together (64 addresses in a few milliseconds), then
// every PostAcq*. A failing Pre or Post hook is logged and noticed; the
// takeover goes on.
func (d *Daemon) takeover(ctx context.Context, reason string, forced bool) jobResult {
	var r jobResult
	began := d.Clock.Now()
	if vetoed, why := d.test(ctx, &r, actAcquire, reason); vetoed {
		r.done = failover.JobDone{Vetoed: true, Reason: why}
		return r
	}
	held := d.Mover.Holding()
	var todo []takeover.Address
	for _, a := range d.cfg.Addresses {
		if !slices.Contains(held, a) {
			todo = append(todo, a) // held already (left by an earlier run): no hooks again
		}
	}
	for _, a := range todo {
		d.stageLogged(ctx, &r, hooks.PreAcq, a, actAcquire, reason)
	}
	// The last look before adding: the questions went on while the
	// hooks ran, and an answer since the job began (the primary back,
	// heartbeatd started again) stops it here.
	if a, ok := d.answeredSince(began); ok && !forced {
		d.log.Warn("another host answered while the takeover's hooks ran; adding nothing", "addr", a.Addr, "mac", a.MAC)
		r.done.Answered = true
		r.done.Undone = d.undoAcquire(ctx, &r, todo, fmt.Sprintf("%s answered for %s while its hooks ran", a.MAC, a.Addr))
		return r
	}
	// With an arbiter, this host adds nothing unless it holds every
	// address's key too (--force does not change that).
	if d.Arbiter != nil {
		// No key is reconciled between the claims and the adds.
		d.arb.keys.Lock()
		if why, unanswered := d.claimAll(ctx); why != "" {
			d.log.Warn("the arbiter did not give this host the addresses' keys; adding nothing", "why", why)
			r.done.Refused, r.unanswered = why, unanswered
			d.releaseUnheld(ctx)
			d.arb.keys.Unlock()
			r.done.Undone = d.undoAcquire(ctx, &r, todo, why)
			return r
		}
	}
	start := time.Now()
	var errs []error
	for i, err := range d.Mover.TakeAll(ctx, todo) {
		a := todo[i]
		if err != nil {
			errs = append(errs, err)
			if !errors.Is(err, takeover.ErrNotAnnounced) {
				// Not added: keep it wanted, so the reconcile tick retries.
				d.Mover.Adopt(a)
			}
			d.log.Error("could not take the address over", "addr", a, "err", err)
			continue
		}
		d.log.Info("took the address over", "addr", a)
	}
	if d.Arbiter != nil {
		d.arb.keys.Unlock()
		d.wakeWatch() // the watch looks at the deadline again
	}
	d.log.Info("addresses added and announced", "count", len(todo), "took", time.Since(start))
	d.obs.Moved(failover.Takeover, d.Clock.Now())
	for _, a := range todo {
		d.stageLogged(ctx, &r, hooks.PostAcq, a, actAcquire, reason)
	}
	r.done.Err = errors.Join(errs...)
	return r
}

// undoAcquire runs PreRel* and PostRel* for the addresses whose PreAcq*
// ran in a takeover that stopped before adding them (what PreAcq started,
// a mount or a service, is stopped again), with the reason. It says
// whether any hook ran (why: what stopped it). Nothing is removed (nothing was added) and no
// `released` is sent.
func (d *Daemon) undoAcquire(ctx context.Context, r *jobResult, todo []takeover.Address, why string) bool {
	reason := "undo: the takeover stopped before adding anything, since " + why
	ran := len(r.hooks)
	for _, a := range todo {
		d.stageLogged(ctx, r, hooks.PreRel, a, actRelease, reason)
		d.stageLogged(ctx, r, hooks.PostRel, a, actRelease, reason)
	}
	return len(r.hooks) > ran
}

// giveBack: Test (unless stopping), then for each address PreRel*,
// remove it, PostRel*; then tell the primary `released` so it
// re-announces at once.
func (d *Daemon) giveBack(ctx context.Context, reason string, ask bool) jobResult {
	var r jobResult
	if ask {
		if vetoed, why := d.test(ctx, &r, actRelease, reason); vetoed {
			r.done = failover.JobDone{Vetoed: true, Reason: why}
			return r
		}
	}
	var errs []error
	for _, a := range d.cfg.Addresses {
		d.stageLogged(ctx, &r, hooks.PreRel, a, actRelease, reason)
		if err := d.Mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
			d.log.Error("could not give the address back", "addr", a, "err", err)
		} else {
			d.log.Info("gave the address back", "addr", a)
		}
		d.stageLogged(ctx, &r, hooks.PostRel, a, actRelease, reason)
	}
	if len(errs) == 0 {
		// Only once every address is gone: the primary re-announces at
		// once, and must not while this host still answers for one;
		// with an arbiter it claims their keys first, freed here.
		if d.Arbiter != nil {
			d.releaseAll(ctx, d.cfg.Addresses)
		}
		d.sendReleased()
		d.obs.Moved(failover.GiveBack, d.Clock.Now())
	}
	r.done.Err = errors.Join(errs...)
	return r
}

// stageLogged runs a Pre or Post stage; a stage that cannot run is
// logged with its reason (the job goes on).
func (d *Daemon) stageLogged(ctx context.Context, r *jobResult, stage hooks.Stage, a takeover.Address, action, reason string) {
	if _, err := d.runStage(ctx, r, stage, a, action, reason); err != nil {
		d.log.Error("hooks cannot run; going on without them", "stage", stage, "addr", a, "err", err)
	}
}
