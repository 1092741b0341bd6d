package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/procgroup"
	"github.com/ipfailover/ipfailover/internal/safefile"
)

// defaultTimeout bounds one delivery: a hung MTA or webhook must not hold
// the queue forever.
const defaultTimeout = 30 * time.Second

// killGrace is what a timed-out program (an MTA writing its queue file)
// has between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// maxOutput bounds how much of a failing program's output goes into the
// error: enough for its message, not enough to flood the log.
const maxOutput = 4 << 10

// run runs path with stdin in a process group of its own, so a shell
// script's children stop with it at the timeout, and returns an error that
// carries the program's own output when it fails, since that output
// usually says what is wrong. A program that a user other than root (or
// the one the daemon runs as) could change is not run: it would run with
// the daemon's rights. Checked at every notice, since it may have become
// so after the configuration was checked.
func run(ctx context.Context, timeout time.Duration, path string, args []string, stdin []byte) error {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	cmd := exec.Command(path, args...)
	name := strings.Join(append([]string{path}, args...), " ")
	if cmd.Err == nil {
		switch err := safefile.Program().Check(cmd.Path); {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s: %w (check the path, and that it is installed)", name, err)
		case err != nil:
			return fmt.Errorf("%s: not run: %w", name, err)
		}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	out := procgroup.NewOutput(maxOutput)
	cmd.Stdout, cmd.Stderr = out, out

	res, err := procgroup.Run(ctx, cmd, procgroup.Options{Timeout: timeout, Grace: killGrace})
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, exec.ErrDot):
		return fmt.Errorf("%s: %w (check the path, and that it is installed)", name, err)
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	case errors.Is(res.Stopped, procgroup.ErrTimeout):
		err = fmt.Errorf("timed out after %s: %w", timeout, res.Stopped)
	case res.Stopped != nil:
		err = fmt.Errorf("stopped: %w", res.Stopped)
	case res.Err == nil:
		return nil
	default:
		err = res.Err
	}
	if msg := strings.TrimSpace(out.String()); msg != "" {
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}
