package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Command hands the notice to any program, as one JSON object on its
// standard input, so chat webhooks and pagers need no code here.
type Command struct {
	Path    string
	Args    []string
	Timeout time.Duration // default 30s
}

var _ Notifier = Command{}

func (c Command) String() string {
	return "command " + strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// Notify runs the command. The error carries the command's own output.
func (c Command) Notify(ctx context.Context, e Notice) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s notice: %w", e.Kind, err)
	}
	if err := run(ctx, c.Timeout, c.Path, c.Args, append(b, '\n')); err != nil {
		return fmt.Errorf("notify command for %s notice: %w", e.Kind, err)
	}
	return nil
}
