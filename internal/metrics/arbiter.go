package metrics

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/arbiter"
)

// Arbiter is both daemons' metrics of the arbiter (FAILOVER_ARBITER),
// read from its client's status at each scrape (a copy under the
// client's own lock, never the daemon's).
type Arbiter struct {
	status func() arbiter.Status
	mine   func() []string
	now    func() time.Time

	members, answering, reachable, remaining, lost, holder *prometheus.Desc
}

// NewArbiter registers the arbiter's metrics with reg: status is the
// client's (arbiter.Client.Status); mine are the addresses this host
// takes or holds, shown free when nobody holds their keys.
func NewArbiter(reg prometheus.Registerer, status func() arbiter.Status, mine func() []string) *Arbiter {
	a := newArbiter(status, mine, time.Now)
	reg.MustRegister(a)
	return a
}

func newArbiter(status func() arbiter.Status, mine func() []string, now func() time.Time) *Arbiter {
	if mine == nil {
		mine = func() []string { return nil }
	}
	return &Arbiter{status: status, mine: mine, now: now,
		members: prometheus.NewDesc(Namespace+"_arbiter_members", "The arbiter's etcd members (FAILOVER_ARBITER).", nil, nil),
		answering: prometheus.NewDesc(Namespace+"_arbiter_members_answering",
			"The arbiter's members that answered this host's last round with a leader in view.", nil, nil),
		reachable: prometheus.NewDesc(Namespace+"_arbiter_reachable",
			"1 when this host's last round reached the arbiter's majority (its lease renewed and the keys read through it), 0 when not: it then adds no address.", nil, nil),
		remaining: prometheus.NewDesc(Namespace+"_arbiter_lease_remaining_seconds",
			"Time until this host's lease deadline, by which a holder must be rid of its addresses unless a renewal moves it; 0 without a lease.", nil, nil),
		lost: prometheus.NewDesc(Namespace+"_arbiter_leases_lost_total",
			"This host's leases found gone on the server or let go past their deadline: every key claimed under one went with it.", nil, nil),
		holder: prometheus.NewDesc(Namespace+"_arbiter_address_holder_info",
			"1 for each address key under the prefix, with the node that holds it, as this host last read them; this host's addresses with holder empty when nobody holds them.",
			[]string{"address", "holder"}, nil),
	}
}

// Describe is the collector's half of the registry's checks.
func (a *Arbiter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{a.members, a.answering, a.reachable, a.remaining, a.lost, a.holder} {
		ch <- d
	}
}

// Collect reads the client's status.
func (a *Arbiter) Collect(ch chan<- prometheus.Metric) {
	st := a.status()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(a.members, float64(st.Members))
	gauge(a.answering, float64(st.Answering))
	gauge(a.reachable, bit(st.Reachable))
	remaining := 0.0
	if !st.Deadline.IsZero() {
		remaining = max(0, st.Deadline.Sub(a.now()).Seconds())
	}
	gauge(a.remaining, remaining)
	ch <- prometheus.MustNewConstMetric(a.lost, prometheus.CounterValue, float64(st.LeasesLost))
	for _, addr := range slices.Sorted(maps.Keys(st.Holders)) {
		ch <- prometheus.MustNewConstMetric(a.holder, prometheus.GaugeValue, 1, addr, st.Holders[addr])
	}
	if st.Holders == nil {
		st.Holders = map[string]string{}
	}
	for _, addr := range a.mine() {
		if _, ok := st.Holders[addr]; !ok {
			st.Holders[addr] = "" // once each
			ch <- prometheus.MustNewConstMetric(a.holder, prometheus.GaugeValue, 1, addr, "")
		}
	}
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
