package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// engine is failoverd's event loop: the only goroutine that touches the
// state machine. Heartbeats, ticks, job results and operator commands come
// in; jobs run in their own goroutine, so hooks never stall heartbeat
// processing.
type engine struct {
	cfg      *config.Config
	log      *slog.Logger
	machine  *failover.Machine
	mon      *monitor.Monitor
	mover    *takeover.Mover
	hooks    *hooks.Runner
	notifier *notify.Async
	sd       *cli.Notifier
	keys     func() *wire.Keyring
	addrs    []takeover.Address

	heard    chan monitor.Heard
	events   chan failover.Event
	jobsDone chan jobResult
	requests chan request

	// stages: the last run of each stage per address, for status.
	mu     sync.Mutex
	stages map[string]control.Stage
	// lastJobHooks: the hooks of the last job, for its notice.
	lastJobHooks []notify.Hook

	// waiters: operators whose acquire or release started the running
	// job; they get its outcome.
	waiters []chan control.Response

	jobs   sync.WaitGroup
	seq    uint64
	epoch  uint64
	jobCtx context.Context
}

// jobResult is a finished job; hookFailed asks for a hook-failure notice.
type jobResult struct {
	done       failover.JobDone
	hookFailed bool
}

type request struct {
	req   control.Request
	reply chan control.Response
}

func (e *engine) now() time.Time { return time.Now() }

// loop runs until ctx ends. It wakes for events, and otherwise only at
// the machine's next deadline (at least once a second, for the watchdog):
// no polling, so a 10 ms heartbeat costs two wakeups per interval, not
// more. The deadline moves at every heartbeat; the timer is an fdtimer so
// that moving it wakes nothing else.
func (e *engine) loop(ctx context.Context) {
	tick := fdtimer.New(e.untilDeadline(), 0)
	defer tick.Stop()
	armedFor := e.machine.NextDeadline()
	for {
		fired := false
		select {
		case <-ctx.Done():
			return
		case h := <-e.heard:
			e.apply(failover.Heartbeat{At: h.At, Link: h.Link, Interval: h.Packet.Interval, Goodbye: h.Packet.Type == wire.Goodbye})
		case ev := <-e.events:
			e.apply(ev)
		case r := <-e.jobsDone:
			e.apply(r.done)
			if r.hookFailed {
				e.notice(notify.HookFailure, fmt.Sprintf("a hook failed during the %s; it went on", r.done.Job))
			}
			e.answerWaiters(r.done)
		case r := <-e.requests:
			if resp := e.answer(r.req); resp.OK || resp.Error != "" {
				r.reply <- resp
			} else {
				e.waiters = append(e.waiters, r.reply) // a job started
			}
		case <-tick.C():
			e.apply(failover.Tick{At: e.now()})
			fired = true
		}
		if next := e.machine.NextDeadline(); fired || !next.Equal(armedFor) {
			armedFor = next
			tick.Reset(e.untilDeadline(), 0)
		}
		// The watchdog sees the loop itself: a stuck loop gets restarted.
		e.sd.Alive(e.now())
	}
}

// untilDeadline is how long the loop may sleep: to the machine's next
// deadline, at most a second, at least a millisecond.
func (e *engine) untilDeadline() time.Duration {
	d := time.Second
	if next := e.machine.NextDeadline(); !next.IsZero() {
		d = min(d, time.Until(next))
	}
	return max(d, time.Millisecond)
}

func (e *engine) apply(ev failover.Event) {
	before, _ := e.machine.State()
	actions := e.machine.Handle(ev)
	if after, _ := e.machine.State(); after != before {
		e.log.Info("state", "from", before, "to", after)
	}
	for _, a := range actions {
		switch a := a.(type) {
		case failover.StartJob:
			e.startJob(a)
		case failover.Notice:
			e.notice(notify.Kind(a.Kind), a.Detail)
		}
	}
}

func (e *engine) links() []notify.Link {
	var out []notify.Link
	for _, l := range e.machine.Links() {
		out = append(out, notify.Link{Name: l.Name, Alive: l.Alive, LastHeard: l.LastHeard})
	}
	return out
}

func (e *engine) addrStrings() []string {
	s := make([]string, len(e.addrs))
	for i, a := range e.addrs {
		s[i] = a.String()
	}
	return s
}

func (e *engine) notice(kind notify.Kind, detail string) {
	ev := notify.Event{Kind: kind, Time: e.now(), Node: e.cfg.NodeName, Peer: e.cfg.PeerIP.String(),
		Addresses: e.addrStrings(), Links: e.links(), Detail: detail}
	if kind == notify.Takeover || kind == notify.GiveBack || kind == notify.Veto || kind == notify.HookFailure {
		e.mu.Lock()
		ev.Hooks = slices.Clone(e.lastJobHooks)
		e.mu.Unlock()
	}
	level := slog.LevelInfo
	if kind != notify.AnomalyCleared && kind != notify.GiveBack {
		level = slog.LevelWarn
	}
	e.log.Log(context.Background(), level, "notice", "kind", kind, "detail", detail)
	e.notifier.Notify(ev)
}

// startJob runs a takeover or give-back in its own goroutine and feeds
// the result back as a JobDone event.
func (e *engine) startJob(a failover.StartJob) {
	e.log.Info("job starts", "job", a.Job, "reason", a.Reason)
	e.jobs.Add(1)
	go func() {
		defer e.jobs.Done()
		var r jobResult
		if a.Job == failover.Takeover {
			r = e.takeover(e.jobCtx, a.Reason)
		} else {
			r = e.giveBack(e.jobCtx, a.Reason, true)
		}
		r.done.At = e.now()
		r.done.Job = a.Job
		e.log.Info("job done", "job", a.Job, "vetoed", r.done.Vetoed, "err", r.done.Err)
		select {
		case e.jobsDone <- r:
		case <-e.jobCtx.Done():
		}
	}()
}

// runStage runs one stage's hooks for one address and keeps the results.
// Actions a job tells its hooks (FAILOVER_ACTION): Test runs for both.
const (
	actAcquire = "acquire"
	actRelease = "release"
)

func (e *engine) runStage(ctx context.Context, stage hooks.Stage, a takeover.Address, action, reason string) ([]hooks.Result, error) {
	env := hooks.Env{Action: action, Address: a.Addr(), Interface: a.Interface, PeerIP: e.cfg.PeerIP, Reason: reason}
	res, err := e.hooks.Run(ctx, stage, env)
	st := control.Stage{Stage: string(stage), Address: a.String(), At: e.now()}
	var nh []notify.Hook
	for _, r := range res {
		errText := ""
		if r.Err != nil {
			errText = r.Err.Error()
		}
		st.Hooks = append(st.Hooks, control.HookRun{Name: r.Name, Exit: r.Exit, TimedOut: r.TimedOut, Duration: r.Duration, Error: errText})
		nh = append(nh, notify.Hook{Stage: string(stage), Name: r.Name, Exit: r.Exit, TimedOut: r.TimedOut, Duration: r.Duration, Err: errText})
	}
	if err != nil {
		nh = append(nh, notify.Hook{Stage: string(stage), Name: "(" + string(stage) + " hooks)", Exit: -1, Err: err.Error()})
		st.Hooks = append(st.Hooks, control.HookRun{Name: "(not run)", Exit: -1, Error: err.Error()})
	}
	e.mu.Lock()
	e.stages[string(stage)+" "+a.String()] = st
	e.lastJobHooks = append(e.lastJobHooks, nh...)
	e.mu.Unlock()
	return res, err
}

// test runs every address's Test hook: any refusal, or a Test that
// cannot be run (unsafe, not executable), vetoes the job. why is empty
// when Test simply said no.
func (e *engine) test(ctx context.Context, action, reason string) (vetoed bool, why string) {
	for _, a := range e.addrs {
		res, err := e.runStage(ctx, hooks.Test, a, action, reason)
		if err != nil {
			e.log.Error("Test hook cannot run; not going ahead", "addr", a, "err", err)
			return true, "the Test hook of " + a.Addr().String() + " cannot run: " + err.Error()
		}
		for _, r := range res {
			if !r.OK() {
				e.log.Warn("Test hook said no", "addr", a, "hook", r.Path, "exit", r.Exit)
				return true, ""
			}
		}
	}
	return false, ""
}

func failed(res []hooks.Result, err error) bool {
	return err != nil || slices.ContainsFunc(res, func(r hooks.Result) bool { return !r.OK() })
}

// takeover: every address's Test, then every PreAcq*, all addresses
// added and announced together (64 addresses in a few milliseconds), then
// every PostAcq*. A failing Pre or Post hook is logged and noticed; the
// takeover goes on.
func (e *engine) takeover(ctx context.Context, reason string) jobResult {
	e.mu.Lock()
	e.lastJobHooks = nil
	e.mu.Unlock()
	if vetoed, why := e.test(ctx, actAcquire, reason); vetoed {
		return jobResult{done: failover.JobDone{Vetoed: true, Reason: why}}
	}
	held := e.mover.Holding()
	var todo []takeover.Address
	for _, a := range e.addrs {
		if !slices.Contains(held, a) {
			todo = append(todo, a) // held already (left by an earlier run): no hooks again
		}
	}
	hookFailed := false
	for _, a := range todo {
		res, err := e.runStage(ctx, hooks.PreAcq, a, actAcquire, reason)
		hookFailed = hookFailed || failed(res, err)
	}
	start := time.Now()
	var errs []error
	for i, err := range e.mover.TakeAll(ctx, todo) {
		a := todo[i]
		if err != nil {
			errs = append(errs, err)
			if !errors.Is(err, takeover.ErrNotAnnounced) {
				// Not added: keep it wanted, so the reconcile tick retries.
				e.mover.Adopt(a)
			}
			e.log.Error("could not take the address over", "addr", a, "err", err)
			continue
		}
		e.log.Info("took the address over", "addr", a)
	}
	e.log.Info("addresses added and announced", "count", len(todo), "took", time.Since(start))
	for _, a := range todo {
		res, err := e.runStage(ctx, hooks.PostAcq, a, actAcquire, reason)
		hookFailed = hookFailed || failed(res, err)
	}
	return jobResult{done: failover.JobDone{Err: errors.Join(errs...)}, hookFailed: hookFailed}
}

// giveBack: Test (unless stopping), then for each address PreRel*,
// remove it, PostRel*; then tell the primary `released` so it
// re-announces at once.
func (e *engine) giveBack(ctx context.Context, reason string, ask bool) jobResult {
	e.mu.Lock()
	e.lastJobHooks = nil
	e.mu.Unlock()
	if ask {
		if vetoed, why := e.test(ctx, actRelease, reason); vetoed {
			return jobResult{done: failover.JobDone{Vetoed: true, Reason: why}}
		}
	}
	var errs []error
	hookFailed := false
	for _, a := range e.addrs {
		res, err := e.runStage(ctx, hooks.PreRel, a, actRelease, reason)
		hookFailed = hookFailed || failed(res, err)
		if err := e.mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
			e.log.Error("could not give the address back", "addr", a, "err", err)
		} else {
			e.log.Info("gave the address back", "addr", a)
		}
		res, err = e.runStage(ctx, hooks.PostRel, a, actRelease, reason)
		hookFailed = hookFailed || failed(res, err)
	}
	if len(errs) == 0 {
		// Only once every address is gone: the primary re-announces at
		// once, and must not while this host still answers for one.
		e.sendReleased()
	}
	return jobResult{done: failover.JobDone{Err: errors.Join(errs...)}, hookFailed: hookFailed}
}

func (e *engine) sendReleased() {
	e.mu.Lock()
	e.seq++
	p := wire.Packet{Type: wire.Released, Sender: e.cfg.NodeName, Epoch: e.epoch, Seq: e.seq, Interval: time.Second, SentAt: e.now()}
	e.mu.Unlock()
	b, err := e.keys().Seal(&p)
	if err == nil {
		// A socket of its own: the monitor's may be closed already when
		// failoverd gives back on its way out.
		var c net.Conn
		if c, err = net.Dial("udp", netip.AddrPortFrom(e.cfg.PeerIP, e.cfg.Port).String()); err == nil {
			_, err = c.Write(b)
			c.Close()
		}
	}
	if err != nil {
		e.log.Warn("could not tell the primary the addresses are released; it re-announces them at its next start or SIGHUP", "err", err)
		return
	}
	e.log.Info("told the primary the addresses are released", "to", e.cfg.PeerIP)
}

// answer handles one control request (in the loop).
func (e *engine) answer(r control.Request) control.Response {
	switch r.Op {
	case control.OpStatus:
		st := e.status()
		return control.Response{OK: true, Status: &st}
	case control.OpAcquire, control.OpRelease, control.OpHold, control.OpResume:
		e.log.Info("operator request", "op", r.Op)
		before := e.machine.Running()
		e.apply(failover.Command{At: e.now(), Op: r.Op})
		st := e.status()
		resp := control.Response{OK: true, Status: &st}
		switch {
		case r.Op == control.OpHold && before != failover.NoJob:
			resp.Message = fmt.Sprintf("a %s is under way; failoverd holds when it ends", before)
		case r.Op == control.OpHold:
			resp.Message = "held: no automatic takeover or give-back until failoverctl resume"
		case r.Op == control.OpResume:
			resp.Message = "resumed: the automatic rules apply"
		case before != failover.NoJob:
			resp.Message = fmt.Sprintf("a %s is under way; your %s runs after it (see failoverctl status)", before, r.Op)
		case e.machine.Running() == failover.NoJob && r.Op == control.OpAcquire:
			resp.Message = "this host holds the addresses already"
		case e.machine.Running() == failover.NoJob:
			resp.Message = "this host holds no address; nothing to release"
		default:
			return control.Response{} // answered when the job ends
		}
		return resp
	}
	return control.Response{Error: fmt.Sprintf("unknown request %q", r.Op)}
}

// answerWaiters tells the operators who started the job how it ended.
func (e *engine) answerWaiters(d failover.JobDone) {
	if len(e.waiters) == 0 {
		return
	}
	st := e.status()
	resp := control.Response{OK: !d.Vetoed && d.Err == nil, Status: &st}
	switch {
	case d.Vetoed && d.Reason != "":
		resp.Error = d.Reason
	case d.Vetoed:
		resp.Error = "the Test hook said no; nothing changed"
	case d.Err != nil:
		resp.Error = d.Err.Error()
	case d.Job == failover.Takeover:
		resp.Message = "took the addresses over"
		if alive := slices.ContainsFunc(st.Links, func(l control.Link) bool { return l.Alive }); alive && e.cfg.AutoGiveBack && st.State != string(failover.Held) {
			resp.Message += "; the primary is heard, so automatic give-back returns them after the hold-down (failoverctl hold keeps them)"
		}
	default:
		resp.Message = "gave the addresses back"
	}
	for _, w := range e.waiters {
		w <- resp
	}
	e.waiters = nil
}

func (e *engine) status() control.Status {
	state, since := e.machine.State()
	stats := e.mon.Stats()
	st := control.Status{Node: e.cfg.NodeName, State: string(state), Since: since, Holding: e.machine.Holding(),
		Peer: e.cfg.PeerIP.String(), PeerInterval: e.machine.PeerInterval(), Timeout: e.machine.Timeout()}
	now := e.now()
	for _, l := range e.machine.Links() {
		s := stats[l.Name]
		// Status says what was heard: the machine may still give a link
		// the benefit of the doubt (just after start or a give-back).
		alive := !l.LastHeard.IsZero() && now.Sub(l.LastHeard) <= st.Timeout
		st.Links = append(st.Links, control.Link{Name: l.Name, Alive: alive, LastHeard: l.LastHeard, Received: s.Received, Dropped: s.Dropped})
		if s.Epoch != 0 && !s.LastHeard.Before(l.LastHeard) {
			st.PeerEpoch, st.PeerName = s.Epoch, s.Sender
		}
	}
	if o := stats[monitor.Unknown].Dropped; len(o) > 0 {
		st.OtherDropped = o
	}
	held := e.mover.Holding()
	for _, a := range e.addrs {
		st.Addresses = append(st.Addresses, control.Address{Address: a.String(), Held: slices.Contains(held, a)})
	}
	e.mu.Lock()
	for _, s := range e.stages {
		st.Stages = append(st.Stages, s)
	}
	e.mu.Unlock()
	order := map[string]int{"Test": 0, "PreAcq": 1, "PostAcq": 2, "PreRel": 3, "PostRel": 4}
	slices.SortFunc(st.Stages, func(a, b control.Stage) int {
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		return order[a.Stage] - order[b.Stage]
	})
	return st
}

// handle is the control socket's handler: it passes the request to the
// loop and waits for the answer.
func (e *engine) handle(ctx context.Context, r control.Request) control.Response {
	reply := make(chan control.Response, 1)
	select {
	case e.requests <- request{r, reply}:
	case <-ctx.Done():
		return control.Response{Error: "failoverd is stopping"}
	}
	select {
	case resp := <-reply:
		return resp
	case <-ctx.Done():
		return control.Response{Error: "failoverd is stopping"}
	}
}

// runningAsRoot: hooks then must not be changeable by other users.
func runningAsRoot() bool { return os.Geteuid() == 0 }
