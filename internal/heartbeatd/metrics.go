package heartbeatd

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/metrics"
)

// Why heartbeatd announced its addresses: the `reason` label of
// ipfailover_announces_total.
const (
	AnnounceStart    = "start"    // at start
	AnnounceReload   = "reload"   // on SIGHUP
	AnnounceReleased = "released" // the secondary released them
)

// Metrics are heartbeatd's metrics: what it counts as it goes, and a
// collector of the sender's own counters.
type Metrics struct {
	targets func() []heartbeat.Target

	announces *prometheus.CounterVec
	released  prometheus.Counter
	healthy   prometheus.Gauge
	hooks     *metrics.Hooks

	sent, failed *prometheus.Desc
}

// NewMetrics registers heartbeatd's metrics with reg; targets are the
// sender's targets with their counters (Sender.Targets).
func NewMetrics(reg prometheus.Registerer, targets func() []heartbeat.Target) *Metrics {
	m := &Metrics{targets: targets,
		announces: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "announces_total",
			Help: "Times heartbeatd announced its addresses (gratuitous ARP, unsolicited NA), by reason (start, reload, released)."}, []string{"reason"}),
		released: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "released_received_total",
			Help: "Valid released messages from the secondary: it gave the addresses back."}),
		healthy: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "service_healthy",
			Help: "The service as heartbeatd's checks find it: 1 healthy, 0 unhealthy (its heartbeats say so)."}),
		sent: prometheus.NewDesc(metrics.Namespace+"_heartbeats_sent_total", "Heartbeats (and goodbyes) sent, by link and target.", []string{"link", "target"}, nil),
		failed: prometheus.NewDesc(metrics.Namespace+"_heartbeat_send_errors_total",
			"Heartbeats that could not be sent (interface down, no carrier, a socket error), by link and target.", []string{"link", "target"}, nil),
	}
	for _, r := range []string{AnnounceStart, AnnounceReload, AnnounceReleased} {
		m.announces.WithLabelValues(r)
	}
	m.healthy.Set(1)
	reg.MustRegister(m.announces, m.released, m.healthy, m)
	m.hooks = metrics.NewHooks(reg)
	return m
}

// The methods below do nothing on a nil *Metrics (metrics off).

// Checks wraps the checks' runner to count and time every check
// (ipfailover_hook_runs_total with stage Check).
func (m *Metrics) Checks(r metrics.HookRunner) metrics.HookRunner {
	if m == nil {
		return r
	}
	return m.hooks.Count(r)
}

// Announced counts one announcement of the addresses.
func (m *Metrics) Announced(reason string) {
	if m != nil {
		m.announces.WithLabelValues(reason).Inc()
	}
}

// Released counts one `released` from the secondary.
func (m *Metrics) Released() {
	if m != nil {
		m.released.Inc()
	}
}

// Health sets the service's health as the checks last found it.
func (m *Metrics) Health(healthy bool) {
	switch {
	case m == nil:
	case healthy:
		m.healthy.Set(1)
	default:
		m.healthy.Set(0)
	}
}

// Describe is the collector's half of the registry's checks.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.sent
	ch <- m.failed
}

// Collect reads the sender's counters (a copy under its lock, which a
// beat holds for the few sends it makes).
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, l := range m.targets() {
		name, target := l.Name(), l.Addr.String()
		ch <- prometheus.MustNewConstMetric(m.sent, prometheus.CounterValue, float64(l.Sent), name, target)
		ch <- prometheus.MustNewConstMetric(m.failed, prometheus.CounterValue, float64(l.Failed), name, target)
	}
}
