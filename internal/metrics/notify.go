package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/notify"
)

// countingNotifier counts the notices its notifier failed to deliver.
type countingNotifier struct {
	notify.Notifier
	failures prometheus.Counter
}

func (c countingNotifier) Notify(ctx context.Context, e notify.Event) error {
	err := c.Notifier.Notify(ctx, e)
	if err != nil {
		c.failures.Inc()
	}
	return err
}

// String is the notifier's own name, for notify.Async's log lines.
func (c countingNotifier) String() string {
	if s, ok := c.Notifier.(interface{ String() string }); ok {
		return s.String()
	}
	return sinkName(c.Notifier)
}

// sinkName is the `sink` label of a notifier: its kind, not its target.
func sinkName(n notify.Notifier) string {
	switch n.(type) {
	case notify.Mail:
		return "mail"
	case notify.Command:
		return "command"
	}
	return "other"
}
