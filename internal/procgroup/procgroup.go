// Package procgroup runs a program in a process group of its own, so that
// when it outruns its time, or its context ends, everything it started can
// be stopped with it: SIGTERM to the whole group, SIGKILL to what is left
// after a grace, and a wait until the group is gone. failoverd's hooks and
// its notice commands (sendmail, webhooks) both run this way.
package procgroup

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// ErrTimeout is Result.Stopped for a program stopped at Options.Timeout.
var ErrTimeout = errors.New("timed out")

// DefaultGrace is used when Options.Grace is zero.
const DefaultGrace = 2 * time.Second

// pollEvery is how often a stopping group is checked for survivors.
const pollEvery = 20 * time.Millisecond

// killWait bounds the wait for the group to vanish after SIGKILL; only a
// process stuck in the kernel (a hung NFS mount) takes longer.
const killWait = time.Second

// Options say how long a program may run and how it is stopped.
type Options struct {
	// Timeout stops the group this long after the start; zero: only the
	// context stops it.
	Timeout time.Duration
	// Grace is the time between SIGTERM and SIGKILL, for the program's
	// cleanup (unmount, stop a service). It also bounds how long output is
	// still read once the program has exited, so that a background process
	// holding the program's stdout cannot keep Run waiting.
	Grace time.Duration
	// OnStop, when set, is called with the reason just before the group is
	// sent SIGTERM, so the caller can say so while it happens.
	OnStop func(cause error)
}

func (o Options) grace() time.Duration {
	if o.Grace <= 0 {
		return DefaultGrace
	}
	return o.Grace
}

// Result is how a program ended.
type Result struct {
	// State is the program's exit status; nil only when waiting for it failed.
	State *os.ProcessState
	// Err is exec.Cmd.Wait's error: nil after exit 0, an *exec.ExitError
	// after another status or a signal, exec.ErrWaitDelay when the program
	// exited 0 but something it left kept its output open past the grace.
	Err error
	// Stopped is why the group was signalled: ErrTimeout, or the context's
	// cause. Nil when the program ended on its own; then nothing it left
	// behind is touched (a hook may start a service on purpose).
	Stopped error
	// Lingering reports processes of a stopped group still alive after
	// SIGKILL and a wait.
	Lingering bool
}

// Exit is the program's exit code, or -1 when it did not exit normally
// (killed by a signal, or its status is unknown).
func (r Result) Exit() int {
	if r.State == nil {
		return -1
	}
	return r.State.ExitCode()
}

// OutputHeld reports a program that ended on its own but left a process
// holding its output, which was then no longer read.
func (r Result) OutputHeld() bool {
	return r.Stopped == nil && errors.Is(r.Err, exec.ErrWaitDelay)
}

// Run starts cmd (made with exec.Command, not exec.CommandContext) in a
// process group of its own and waits for it. When opt.Timeout passes or
// ctx ends first, the whole group is sent SIGTERM, then SIGKILL once the
// grace is over if any of it is still alive, and Run returns when the group
// is gone. The error is non-nil only when cmd could not start.
//
// A process that left the group (setsid) is beyond reach; if it holds the
// program's output, reading stops a grace after the program exited.
func Run(ctx context.Context, cmd *exec.Cmd, opt Options) (Result, error) {
	grace := opt.grace()
	ownGroup(cmd)
	cmd.WaitDelay = grace
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}

	tctx, cancel := context.WithCancel(ctx)
	if opt.Timeout > 0 {
		tctx, cancel = context.WithTimeoutCause(ctx, opt.Timeout, ErrTimeout)
	}
	defer cancel()
	exited := make(chan struct{})
	stopped := make(chan stopReport, 1)
	go func() { stopped <- watch(tctx, cmd.Process, grace, opt.OnStop, exited) }()

	var res Result
	res.Err = cmd.Wait()
	res.State = cmd.ProcessState
	close(exited)
	rep := <-stopped
	res.Stopped, res.Lingering = rep.cause, rep.lingering
	return res, nil
}

type stopReport struct {
	cause     error // nil: the program ended on its own
	lingering bool
}

// watch stops p's group when ctx ends before the program has exited, and
// returns once the group is gone or SIGKILL could not clear it.
func watch(ctx context.Context, p *os.Process, grace time.Duration, onStop func(error), exited <-chan struct{}) stopReport {
	select {
	case <-exited:
		return stopReport{}
	case <-ctx.Done():
	}
	select {
	case <-exited: // both were ready: the program ended on its own
		return stopReport{}
	default:
	}
	cause := context.Cause(ctx)
	if onStop != nil {
		onStop(cause)
	}
	_ = terminate(p)
	if waitGone(p, time.Now().Add(grace)) {
		return stopReport{cause: cause}
	}
	_ = kill(p)
	return stopReport{cause: cause, lingering: !waitGone(p, time.Now().Add(killWait))}
}

// waitGone waits until p's group has no live process or deadline passes,
// and reports whether the group is gone. Waiting for an empty group,
// rather than killing at the deadline anyway, keeps stopping fast when
// everything obeyed SIGTERM.
func waitGone(p *os.Process, deadline time.Time) bool {
	for groupAlive(p) {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}
