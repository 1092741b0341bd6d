package failoverd

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// MetricsSources are the counters failoverd keeps already, read at
// each scrape.
type MetricsSources struct {
	// Stats are the monitor's counters per link (monitor.Monitor.Stats).
	Stats func() map[string]monitor.LinkStats
	// Holding counts the addresses this host holds (takeover.Mover).
	Holding func() int
	// Keys are the keys in force (they change on reload); nil: none.
	Keys func() *wire.Keyring
	// Now is the clock the ages are measured with; time.Now when nil.
	Now func() time.Time
	// Heard says the primary counts as heard now (Daemon.Heard): each
	// link's heartbeat_auth_info is then that of its last heartbeat, not
	// of packets refused beside them. Nil: never.
	Heard func() bool
	// Standing is this host among the standbys (Daemon.Standing); nil,
	// or returning nil: not known yet.
	Standing func() *Standing
}

// Metrics are failoverd's metrics: an observer of the daemon
// (Deps.Observer) and a collector of its counters.
type Metrics struct {
	src MetricsSources

	state       *prometheus.GaugeVec
	stateOf     map[failover.State]prometheus.Gauge // failover.States, resolved once
	current     atomic.Pointer[failover.State]
	transitions *prometheus.CounterVec
	jobs        *prometheus.CounterVec
	takeover    prometheus.Histogram
	giveBack    prometheus.Histogram
	lastTake    prometheus.Gauge
	notices     *prometheus.CounterVec
	delivery    *metrics.Deliveries
	conflicts   prometheus.Counter
	healthy     prometheus.Gauge
	commands    *prometheus.CounterVec
	probes      *prometheus.CounterVec
	carrier     *prometheus.GaugeVec
	hooks       *metrics.Hooks

	// decided is when the machine started the running takeover and
	// give-back (Unix nanoseconds; 0: none running).
	decidedTake, decidedGive atomic.Int64

	received, dropped, age, interval, keys, auth *prometheus.Desc
	priority, standbys, yielding                 *prometheus.Desc
}

var _ Observer = (*Metrics)(nil)

// NewMetrics registers failoverd's metrics with reg.
func NewMetrics(reg prometheus.Registerer, src MetricsSources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	m := &Metrics{src: src, stateOf: map[failover.State]prometheus.Gauge{},
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "state",
			Help: "failoverd's state: 1 for the current one, 0 for the others."}, []string{"state"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "state_transitions_total",
			Help: "State changes, by the state left and the state entered."}, []string{"from", "to"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "jobs_total",
			Help: "Takeovers, give-backs and fencing Tests that ended, by job and outcome (done, vetoed, failed, answered)."}, []string{"job", "outcome"}),
		takeover: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metrics.Namespace, Name: "takeover_duration_seconds",
			Help: "From the decision to take over to the last address added and announced, hooks included.", Buckets: metrics.DurationBuckets}),
		giveBack: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metrics.Namespace, Name: "giveback_duration_seconds",
			Help: "From the decision to give back to the last address removed and released sent, hooks included.", Buckets: metrics.DurationBuckets}),
		lastTake: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "last_takeover_timestamp_seconds",
			Help: "When this host last took the addresses over (Unix time); 0: not since start."}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "notices_total",
			Help: "Notices sent, by kind."}, []string{"kind"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "conflicts_total",
			Help: "Times another host was found answering for an address this host would take or holds."}),
		healthy: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "primary_healthy",
			Help: "The primary's service as its heartbeats say: 1 healthy (or never said otherwise), 0 its checks fail."}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "commands_total",
			Help: "Operator requests through failoverctl, by request."}, []string{"op"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Name: "probe_rounds_total",
			Help: "Rounds of probes of the primary's host (FAILOVER_CONFIRM) that ended, by outcome: answered, confirmed (the takeover), heard (a heartbeat came), moved-on."}, []string{"outcome"}),
		carrier: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "link_carrier",
			Help: "Each heartbeat link's carrier as failoverd last heard of it: 1 up, 0 lost; absent where it is not watched."}, []string{"link"}),
		received: prometheus.NewDesc(metrics.Namespace+"_heartbeats_received_total", "Heartbeats accepted from the primary, by link.", []string{"link"}, nil),
		dropped: prometheus.NewDesc(metrics.Namespace+"_heartbeats_dropped_total",
			"Packets dropped on the heartbeat port, by link ((other) for interfaces that are not links) and reason.", []string{"link", "reason"}, nil),
		age:      prometheus.NewDesc(metrics.Namespace+"_heartbeat_age_seconds", "Time since the last heartbeat accepted on each link; absent until one is.", []string{"link"}, nil),
		interval: prometheus.NewDesc(metrics.Namespace+"_primary_interval_seconds", "The primary's heartbeat interval, as its last heartbeat advertised.", nil, nil),
		keys:     prometheus.NewDesc(metrics.Namespace+"_auth_keys", "Keys heartbeats are checked with here (FAILOVER_AUTH_KEY_FILE); 0: they are not checked.", nil, nil),
		auth: prometheus.NewDesc(metrics.Namespace+"_heartbeat_auth_info",
			"How the last packet from the primary on each link stood with the keys here (while its heartbeats are heard within the timeout, the last heartbeat: packets refused beside them count as bad-tag drops only): state authenticated (checked with a key here), unchecked (no key here) or refused (a key here, the packet not signed with it: dropped); the key ids here and in the packet (empty: none). Absent until a packet is heard.",
			[]string{"link", "state", "key_here", "key_in_packets"}, nil),
		priority: prometheus.NewDesc(metrics.Namespace+"_standby_priority", "This standby's priority (FAILOVER_PRIORITY): the highest alive takes the addresses.", nil, nil),
		standbys: prometheus.NewDesc(metrics.Namespace+"_standbys_heard", "The other standbys of the primary heard within the timeout.", nil, nil),
		yielding: prometheus.NewDesc(metrics.Namespace+"_yielding",
			"1 while this host leaves the addresses to another (no automatic takeover), with to (the standby or the holder of the keys) and reason: holds (a standby holds them), ranks-above (a standby of higher priority is alive), arbiter-holds (the arbiter names to as the holder of a key), arbiter-unreachable (the arbiter's majority cannot be reached), arbiter-lease-lost (this host removed them at its lease's deadline); 0, with both empty, while nothing stands in its way.",
			[]string{"to", "reason"}, nil),
	}
	for _, s := range failover.States {
		m.stateOf[s] = m.state.WithLabelValues(string(s))
	}
	m.healthy.Set(1)
	reg.MustRegister(m.state, m.transitions, m.jobs, m.takeover, m.giveBack, m.lastTake, m.notices,
		m.conflicts, m.healthy, m.commands, m.probes, m.carrier, m)
	if src.Holding != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Name: "addresses_held",
			Help: "Public addresses this host holds."}, func() float64 { return float64(src.Holding()) }))
	}
	m.hooks, m.delivery = metrics.NewHooks(reg), metrics.NewDeliveries(reg)
	return m
}

// Hooks wraps failoverd's hook runner to count and time every hook.
func (m *Metrics) Hooks(r HookRunner) HookRunner { return m.hooks.Count(r) }

// Notifiers wraps each notifier to count the notices it fails to deliver.
func (m *Metrics) Notifiers(ns []notify.Notifier) []notify.Notifier { return m.delivery.Count(ns) }

func (m *Metrics) gauge(s failover.State) prometheus.Gauge {
	if g, ok := m.stateOf[s]; ok {
		return g
	}
	return m.state.WithLabelValues(string(s))
}

func (m *Metrics) Started(s failover.State, _ time.Time) {
	m.current.Store(&s)
	m.gauge(s).Set(1)
}

func (m *Metrics) Transition(from, to failover.State, _ time.Time) {
	m.gauge(from).Set(0)
	m.gauge(to).Set(1)
	m.current.Store(&to)
	m.transitions.WithLabelValues(string(from), string(to)).Inc()
	if to == failover.Conflict {
		m.conflicts.Inc()
	}
}

func (m *Metrics) decided(j failover.Job) *atomic.Int64 {
	switch j {
	case failover.Takeover:
		return &m.decidedTake
	case failover.GiveBack:
		return &m.decidedGive
	}
	return nil
}

func (m *Metrics) JobStarted(j failover.Job, _ string, at time.Time) {
	if d := m.decided(j); d != nil {
		d.Store(at.UnixNano())
	}
}

func (m *Metrics) Moved(j failover.Job, at time.Time) {
	d := m.decided(j)
	if d == nil {
		return
	}
	from := d.Swap(0)
	if from == 0 {
		return // not a job the machine decided (the give-back on stop)
	}
	took := at.Sub(time.Unix(0, from)).Seconds()
	if j == failover.Takeover {
		m.takeover.Observe(took)
		m.lastTake.Set(float64(at.UnixNano()) / 1e9)
	} else {
		m.giveBack.Observe(took)
	}
}

func (m *Metrics) JobEnded(done failover.JobDone, _ []hooks.Result) {
	if d := m.decided(done.Job); d != nil {
		d.Store(0)
	}
	outcome := "done"
	switch {
	case done.Answered:
		outcome = "answered"
	case done.Vetoed:
		outcome = "vetoed"
	case done.Err != nil:
		outcome = "failed"
	}
	m.jobs.WithLabelValues(string(done.Job), outcome).Inc()
}

func (m *Metrics) Notice(k notice.Kind, _ string, _ time.Time) {
	m.notices.WithLabelValues(string(k)).Inc()
	switch k {
	case notice.Unhealthy:
		m.healthy.Set(0)
	case notice.Healthy:
		m.healthy.Set(1)
	}
}

func (m *Metrics) Command(op failover.Op, _ bool, _ time.Time, _ string) {
	m.commands.WithLabelValues(string(op)).Inc()
}

func (m *Metrics) ProbeRound(on bool, how failover.ProbeOutcome, _ string, _ time.Time) {
	if !on {
		m.probes.WithLabelValues(string(how)).Inc()
	}
}

func (m *Metrics) Carrier(link string, up bool, _ time.Time) {
	v := 0.0
	if up {
		v = 1
	}
	m.carrier.WithLabelValues(link).Set(v)
}

// Describe is the collector's half of the registry's checks.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.received
	ch <- m.dropped
	ch <- m.age
	ch <- m.interval
	ch <- m.keys
	ch <- m.auth
	ch <- m.priority
	ch <- m.standbys
	ch <- m.yielding
}

// Collect reads the monitor's counters: a copy under the monitor's own
// lock, which a packet holds for a moment, never failoverd's.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	if m.src.Keys != nil {
		ch <- prometheus.MustNewConstMetric(m.keys, prometheus.GaugeValue, float64(len(m.src.Keys().IDs())))
	}
	m.collectStanding(ch)
	if m.src.Stats == nil {
		return
	}
	now := m.src.Now()
	var latest time.Time
	var interval time.Duration
	heard := m.src.Heard != nil && m.src.Heard()
	for link, s := range m.src.Stats() {
		if link != monitor.Unknown {
			ch <- prometheus.MustNewConstMetric(m.received, prometheus.CounterValue, float64(s.Received), link)
		}
		for reason, n := range s.Dropped {
			ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(n), link, string(reason))
		}
		if a := linkStanding(s, heard); a.State() != wire.AuthNone {
			in := ""
			if a.Signed {
				in = wire.FormatKeyID(a.KeyID)
			}
			here := make([]string, len(a.Keys))
			for i, id := range a.Keys {
				here[i] = wire.FormatKeyID(id)
			}
			ch <- prometheus.MustNewConstMetric(m.auth, prometheus.GaugeValue, 1, link, string(a.State()), strings.Join(here, ","), in)
		}
		if s.LastHeard.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.age, prometheus.GaugeValue, max(0, now.Sub(s.LastHeard).Seconds()), link)
		if s.Interval > 0 && s.LastHeard.After(latest) {
			latest, interval = s.LastHeard, s.Interval
		}
	}
	if interval > 0 {
		ch <- prometheus.MustNewConstMetric(m.interval, prometheus.GaugeValue, interval.Seconds())
	}
}

// collectStanding reads this host's standing among the standbys, as the
// daemon published it.
func (m *Metrics) collectStanding(ch chan<- prometheus.Metric) {
	var st *Standing
	if m.src.Standing != nil {
		st = m.src.Standing()
	}
	if st == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(m.priority, prometheus.GaugeValue, float64(st.Priority))
	ch <- prometheus.MustNewConstMetric(m.standbys, prometheus.GaugeValue, float64(st.Standbys))
	to, reason := YieldReason(st.Yield)
	v := 0.0
	if reason != "" {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(m.yielding, prometheus.GaugeValue, v, to, reason)
}

// YieldReason is the to and reason labels of ipfailover_yielding for y;
// reason is empty while nothing stands in this host's way.
func YieldReason(y failover.Yield) (to, reason string) {
	switch {
	case y.Arbiter && y.To == "":
		return "", "arbiter-unreachable"
	case y.Arbiter && y.To == leaseLost:
		return "", "arbiter-lease-lost"
	case y.Arbiter:
		return y.To, "arbiter-holds"
	case y.To == "":
		return "", ""
	case y.Holds:
		return y.To, "holds"
	}
	return y.To, "ranks-above"
}
