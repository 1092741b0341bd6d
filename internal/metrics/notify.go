package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/notify"
)

// Deliveries count the notices notifiers fail to deliver, by notifier.
type Deliveries struct{ failures *prometheus.CounterVec }

// NewDeliveries registers the delivery failures' counter with reg.
func NewDeliveries(reg prometheus.Registerer) *Deliveries {
	d := &Deliveries{failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "notice_delivery_failures_total",
		Help: "Notices a notifier failed to deliver, by notifier (mail, command)."}, []string{"sink"})}
	reg.MustRegister(d.failures)
	return d
}

// Count wraps each notifier to count the notices it fails to deliver.
func (d *Deliveries) Count(ns []notify.Notifier) []notify.Notifier {
	out := make([]notify.Notifier, len(ns))
	for i, n := range ns {
		out[i] = countingNotifier{Notifier: n, failures: d.failures.WithLabelValues(sinkName(n))}
	}
	return out
}

// countingNotifier counts the notices its notifier failed to deliver.
type countingNotifier struct {
	notify.Notifier
	failures prometheus.Counter
}

func (c countingNotifier) Notify(ctx context.Context, e notify.Notice) error {
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
