package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/procgroup"
)

// Run runs the hooks of stage for env.Address one after the other, in List
// order, and returns their results. A failing hook does not stop the later
// ones: the caller decides what a failure means (Test is the veto). An error
// from List is returned with no hook run. When ctx ends, the running hook is
// killed, no further hook is started, and Run returns the results so far
// with the context's error.
//
// With RequireSafe, each hook's path is checked again just before it
// starts, and its folder must still be the one List read: a hook is run
// by its path, and a stage may run for minutes. Otherwise neither that
// hook nor a later one runs, and Run returns the results so far with an
// error that says why.
//
// Each hook gets a clean environment (PATH and the FAILOVER_* variables),
// the address folder as working directory, /dev/null as standard input and
// its own process group, so that at the timeout everything it started can be
// killed: SIGTERM, then SIGKILL after a grace. Its output is logged line by
// line as it arrives.
func (r *Runner) Run(ctx context.Context, stage Stage, env Env) ([]Result, error) {
	l, err := r.list(env.Address, stage)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(l.paths))
	for _, path := range l.paths {
		if ctx.Err() != nil {
			return results, fmt.Errorf("hooks: %s stopped before %s: %w", stage, filepath.Base(path), context.Cause(ctx))
		}
		if err := r.recheck(l, path); err != nil {
			return results, fmt.Errorf("hooks: %s stopped before %s: %w", stage, filepath.Base(path), err)
		}
		results = append(results, r.runOne(ctx, stage, env, path))
	}
	if ctx.Err() != nil {
		return results, fmt.Errorf("hooks: %s stopped: %w", stage, context.Cause(ctx))
	}
	return results, nil
}

// hookEnv is the whole environment of a hook: failoverd's own environment
// (HOME, SUDO_*, credentials) is none of a hook's business, and a fixed one
// makes a hook behave the same when run by hand with `env -i`.
func (r *Runner) hookEnv(stage Stage, env Env) []string {
	peer := ""
	if env.PeerIP.IsValid() {
		peer = env.PeerIP.String()
	}
	return []string{
		"PATH=" + r.path(),
		"FAILOVER_STAGE=" + string(stage),
		"FAILOVER_ACTION=" + env.Action,
		"FAILOVER_ADDRESS=" + env.Address.String(),
		"FAILOVER_INTERFACE=" + env.Interface,
		"FAILOVER_PEER_IP=" + peer,
		"FAILOVER_REASON=" + env.Reason,
	}
}

func (r *Runner) runOne(ctx context.Context, stage Stage, env Env, path string) Result {
	res := Result{Stage: stage, Name: filepath.Base(path), Path: path, Exit: -1}
	log := r.log().With("hook", res.Name, "stage", stage, "address", env.Address)
	timeout, grace := r.timeout(), r.killGrace()

	level := slog.LevelInfo
	if r.Quiet {
		level = slog.LevelDebug
	}
	var out tail
	stdout := &lineLogger{log: log, level: level, stream: "stdout", tail: &out}
	stderr := &lineLogger{log: log, level: level, stream: "stderr", tail: &out}
	cmd := exec.Command(path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = r.hookEnv(stage, env)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = stdout, stderr

	res.Started = time.Now()
	log.Log(context.Background(), level, "hook started", "path", path)
	run, err := procgroup.Run(ctx, cmd, procgroup.Options{
		Timeout: timeout,
		Grace:   grace,
		OnStop: func(cause error) {
			killed := slog.LevelWarn
			if r.Quiet {
				killed = slog.LevelDebug
			}
			log.Log(context.Background(), killed, "hook killed: sending SIGTERM to its process group", "cause", cause, "grace", grace)
		},
	})
	res.Duration = time.Since(res.Started)
	if err != nil {
		res.Err = startError(path, err)
		log.Warn("hook could not start", "err", res.Err)
		return res
	}
	stdout.flush()
	stderr.flush()
	res.Tail = out.get()

	res.Exit = run.Exit()
	switch {
	case run.Stopped != nil:
		res.TimedOut = errors.Is(run.Stopped, procgroup.ErrTimeout)
		if res.TimedOut {
			res.Err = fmt.Errorf("killed after %v: %w", timeout, ErrTimeout)
		} else {
			res.Err = fmt.Errorf("killed: %w", run.Stopped)
		}
	case res.Exit < 0:
		res.Err = run.Err // died of a signal nobody here sent
	case run.OutputHeld():
		log.Warn("hook exited but left a process holding its output; no longer reading it; "+
			"redirect a background command's output (cmd >/dev/null 2>&1 &)", "waited", grace)
	}
	if run.Lingering {
		log.Error("hook's process group survived SIGKILL: a process of it is stuck in the kernel (a hung mount?); "+
			"find it with ps -eo pid,pgid,stat,args", "pgid", cmd.Process.Pid)
	}

	attrs := []any{"exit", res.Exit, "duration", res.Duration.Round(time.Millisecond)}
	if res.TimedOut {
		attrs = append(attrs, "timed_out", true)
	}
	if res.Err != nil {
		attrs = append(attrs, "err", res.Err)
	}
	if !res.OK() && !r.Quiet {
		level = slog.LevelWarn // a quiet runner's caller says what a failure means, once
	}
	log.Log(context.Background(), level, "hook finished", attrs...)
	return res
}

// startError adds the likely fix for the common ways a hook cannot start.
func startError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		return fmt.Errorf("could not start %s: %w (a script needs a first line such as #!/bin/sh)", path, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("could not start %s: %w (is its file system mounted noexec?)", path, err)
	}
	return fmt.Errorf("could not start %s: %w", path, err)
}
