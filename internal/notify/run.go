package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// defaultTimeout bounds one delivery: a hung MTA or webhook must not hold
// the queue forever.
const defaultTimeout = 30 * time.Second

// maxOutput bounds how much of a failing program's output goes into the
// error: enough for its message, not enough to flood the log.
const maxOutput = 4 << 10

// run runs path with stdin and returns an error that carries the program's
// own output when it fails, since that output usually says what is wrong.
func run(ctx context.Context, timeout time.Duration, path string, args []string, stdin []byte) error {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(tctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out := &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	// A grandchild that keeps the output pipe open must not keep us waiting.
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if err == nil {
		return nil
	}
	name := strings.Join(append([]string{path}, args...), " ")
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, exec.ErrDot):
		return fmt.Errorf("%s: %w (check the path, and that it is installed)", name, err)
	case ctx.Err() != nil:
		err = fmt.Errorf("stopped: %w", ctx.Err())
	case tctx.Err() != nil:
		err = fmt.Errorf("timed out after %s: %w", timeout, tctx.Err())
	}
	if msg := strings.TrimSpace(out.String()); msg != "" {
		return fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// capped keeps the first max bytes written to it and discards the rest;
// it is shared by stdout and stderr, which exec may write concurrently.
type capped struct {
	mu   sync.Mutex
	max  int
	b    bytes.Buffer
	lost bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); len(p) > room {
		c.b.Write(p[:max(room, 0)])
		c.lost = true
	} else {
		c.b.Write(p)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost {
		return c.b.String() + " [output truncated]"
	}
	return c.b.String()
}
