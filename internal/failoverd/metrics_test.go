package failoverd

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/metrics/metricstest"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/wire"
)

var scrapeAt = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

func newTestMetrics(t *testing.T) (*prometheus.Registry, *Metrics) {
	t.Helper()
	stats := map[string]monitor.LinkStats{
		"priv0":         {Received: 7, LastHeard: scrapeAt.Add(-1500 * time.Millisecond), Interval: 100 * time.Millisecond, Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 3}},
		"pub0":          {Received: 5, LastHeard: scrapeAt.Add(-200 * time.Millisecond), Interval: 250 * time.Millisecond},
		monitor.Unknown: {Dropped: map[wire.DropReason]uint64{wire.DropUnknownLink: 2}},
	}
	reg := metrics.NewRegistry()
	m := NewMetrics(reg, MetricsSources{Stats: func() map[string]monitor.LinkStats { return stats }, Holding: func() int { return 1 }, Now: func() time.Time { return scrapeAt }})
	return reg, m
}

// Names, help texts and units pass client_golang's lint, the Go and
// process collectors included.
func TestMetricsPassLint(t *testing.T) {
	reg, m := newTestMetrics(t)
	m.Started(failover.Starting, scrapeAt)
	m.Transition(failover.Starting, failover.Standby, scrapeAt)
	m.Notice(notice.Anomaly, "", scrapeAt)
	m.JobEnded(failover.JobDone{Job: failover.Takeover}, nil)
	m.Command(failover.OpHold, false, scrapeAt, "")
	metricstest.Lint(t, "failoverd", reg, m, m.transitions, m.state, m.takeover)

	// The keys, and how the primary's packets stand with them.
	k, err := wire.NewKey([]byte("a key of thirty-two bytes, fine."), "test")
	if err != nil {
		t.Fatal(err)
	}
	keys := wire.NewKeyring(k)
	stats := map[string]monitor.LinkStats{"priv0": {Auth: wire.Standing{At: scrapeAt, Keys: keys.IDs(), Signed: true, KeyID: 7, Refused: true}}}
	reg = metrics.NewRegistry()
	NewMetrics(reg, MetricsSources{Stats: func() map[string]monitor.LinkStats { return stats }, Keys: func() *wire.Keyring { return keys }})
	metricstest.Lint(t, "failoverd", reg)
}

// One gauge per state of failover.States, 1 for the current one.
func TestStateGaugeFollowsTransitions(t *testing.T) {
	_, m := newTestMetrics(t)
	m.Started(failover.Starting, scrapeAt)
	m.Transition(failover.Starting, failover.Standby, scrapeAt)
	m.Transition(failover.Standby, failover.Acquiring, scrapeAt)
	for _, s := range failover.States {
		want := 0.0
		if s == failover.Acquiring {
			want = 1
		}
		if got := testutil.ToFloat64(m.state.WithLabelValues(string(s))); got != want {
			t.Errorf("ipfailover_state{state=%q} = %v, want %v", s, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.state); n != len(failover.States) {
		t.Errorf("%d state series, want one per state (%d)", n, len(failover.States))
	}
	if got := testutil.ToFloat64(m.transitions.WithLabelValues("standby", "acquiring")); got != 1 {
		t.Errorf("standby→acquiring counted %v times", got)
	}
	m.Transition(failover.Asking, failover.Conflict, scrapeAt)
	if got := testutil.ToFloat64(m.conflicts); got != 1 {
		t.Errorf("conflicts %v", got)
	}
}

// A takeover is timed from the decision to the last address announced;
// a give-back that no decision started (failoverd stopping) is not.
func TestJobDurations(t *testing.T) {
	_, m := newTestMetrics(t)
	m.JobStarted(failover.Takeover, "silence", scrapeAt)
	m.Moved(failover.Takeover, scrapeAt.Add(750*time.Millisecond))
	m.JobEnded(failover.JobDone{Job: failover.Takeover, At: scrapeAt.Add(time.Second)}, nil)
	m.Moved(failover.GiveBack, scrapeAt.Add(2*time.Second))
	want := `
# HELP ipfailover_takeover_duration_seconds From the decision to take over to the last address added and announced, hooks included.
# TYPE ipfailover_takeover_duration_seconds histogram
ipfailover_takeover_duration_seconds_bucket{le="0.005"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.01"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.025"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.05"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.1"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.25"} 0
ipfailover_takeover_duration_seconds_bucket{le="0.5"} 0
ipfailover_takeover_duration_seconds_bucket{le="1"} 1
ipfailover_takeover_duration_seconds_bucket{le="2.5"} 1
ipfailover_takeover_duration_seconds_bucket{le="5"} 1
ipfailover_takeover_duration_seconds_bucket{le="10"} 1
ipfailover_takeover_duration_seconds_bucket{le="30"} 1
ipfailover_takeover_duration_seconds_bucket{le="60"} 1
ipfailover_takeover_duration_seconds_bucket{le="120"} 1
ipfailover_takeover_duration_seconds_bucket{le="300"} 1
ipfailover_takeover_duration_seconds_bucket{le="+Inf"} 1
ipfailover_takeover_duration_seconds_sum 0.75
ipfailover_takeover_duration_seconds_count 1
`
	if err := testutil.CollectAndCompare(m.takeover, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.giveBack); n != 1 {
		t.Fatalf("%d give-back histograms", n)
	}
	if err := testutil.CollectAndCompare(m.giveBack, strings.NewReader(`
# HELP ipfailover_giveback_duration_seconds From the decision to give back to the last address removed and released sent, hooks included.
# TYPE ipfailover_giveback_duration_seconds histogram
`+zeroBuckets("ipfailover_giveback_duration_seconds"))); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.jobs.WithLabelValues("takeover", "done")); got != 1 {
		t.Errorf("jobs_total{takeover,done} %v", got)
	}
}

func zeroBuckets(name string) string {
	var b strings.Builder
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "300", "+Inf"} {
		b.WriteString(name + `_bucket{le="` + le + `"} 0` + "\n")
	}
	return b.String() + name + "_sum 0\n" + name + "_count 0\n"
}

// The links' numbers come from the monitor's counters at scrape time.
func TestLinkMetricsReadTheMonitor(t *testing.T) {
	_, m := newTestMetrics(t)
	want := `
# HELP ipfailover_heartbeat_age_seconds Time since the last heartbeat accepted on each link; absent until one is.
# TYPE ipfailover_heartbeat_age_seconds gauge
ipfailover_heartbeat_age_seconds{link="priv0"} 1.5
ipfailover_heartbeat_age_seconds{link="pub0"} 0.2
# HELP ipfailover_heartbeats_dropped_total Packets dropped on the heartbeat port, by link ((other) for interfaces that are not links) and reason.
# TYPE ipfailover_heartbeats_dropped_total counter
ipfailover_heartbeats_dropped_total{link="(other)",reason="unknown-link"} 2
ipfailover_heartbeats_dropped_total{link="priv0",reason="bad-tag"} 3
# HELP ipfailover_heartbeats_received_total Heartbeats accepted from the primary, by link.
# TYPE ipfailover_heartbeats_received_total counter
ipfailover_heartbeats_received_total{link="priv0"} 7
ipfailover_heartbeats_received_total{link="pub0"} 5
# HELP ipfailover_primary_interval_seconds The primary's heartbeat interval, as its last heartbeat advertised.
# TYPE ipfailover_primary_interval_seconds gauge
ipfailover_primary_interval_seconds 0.25
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, notify.Notice) error {
	return errors.New("sendmail: exit 75")
}

// failoverd's hook runs and failed deliveries count in its registry; an
// unhealthy notice sets primary_healthy to 0.
func TestMetricsCountHooksDeliveriesAndHealth(t *testing.T) {
	reg, m := newTestMetrics(t)
	if _, err := m.Hooks(newHooks()).Run(context.Background(), hooks.PreAcq, hooks.Env{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Notifiers([]notify.Notifier{failingNotifier{}})[0].Notify(context.Background(), notify.Notice{}); err == nil {
		t.Fatal("the notifier's error was lost")
	}
	if n, err := testutil.GatherAndCount(reg, "ipfailover_hook_runs_total", "ipfailover_notice_delivery_failures_total"); err != nil || n != 2 {
		t.Errorf("%d hook runs and delivery failures in failoverd's registry (%v), want 2", n, err)
	}
	m.Notice(notice.Unhealthy, "", scrapeAt)
	if testutil.ToFloat64(m.healthy) != 0 || testutil.ToFloat64(m.notices.WithLabelValues("primary-unhealthy")) != 1 {
		t.Error("an unhealthy notice did not set primary_healthy to 0")
	}
}

// Rounds of probes are counted by how they ended (a round that begins
// counts nothing yet), and each link's carrier follows the watch.
func TestProbeRoundsAndCarrier(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), MetricsSources{})
	now := time.Now()
	m.ProbeRound(true, "", "late", now)
	m.ProbeRound(false, failover.ProbeAnswered, "it lives", now)
	m.ProbeRound(true, "", "late", now)
	m.ProbeRound(false, failover.ProbeConfirmed, "no answer", now)
	m.ProbeRound(false, failover.ProbeConfirmed, "no answer", now)
	if got := testutil.ToFloat64(m.probes.WithLabelValues(string(failover.ProbeConfirmed))); got != 2 {
		t.Errorf("confirmed rounds %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.probes); n != 2 {
		t.Errorf("%d outcomes counted, want 2 (a round that begins is not one)", n)
	}
	m.Carrier("priv0", true, now)
	m.Carrier("priv0", false, now)
	m.Carrier("pub0", true, now)
	if got := testutil.ToFloat64(m.carrier.WithLabelValues("priv0")); got != 0 {
		t.Errorf("priv0 carrier %v after it was lost, want 0", got)
	}
	if got := testutil.ToFloat64(m.carrier.WithLabelValues("pub0")); got != 1 {
		t.Errorf("pub0 carrier %v, want 1", got)
	}
}

// addresses_held is what the mover holds at the scrape.
func TestMetricsSayHowManyAddressesAreHeld(t *testing.T) {
	reg, _ := newTestMetrics(t) // the mover holds one
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP ipfailover_addresses_held Public addresses this host holds.
# TYPE ipfailover_addresses_held gauge
ipfailover_addresses_held 1
`), "ipfailover_addresses_held"); err != nil {
		t.Error(err)
	}
}

// last_takeover_timestamp_seconds is the Unix time the addresses were
// taken, to the millisecond; 0 until then.
func TestLastTakeoverTimestampIsWhenTheAddressesMoved(t *testing.T) {
	_, m := newTestMetrics(t)
	if got := testutil.ToFloat64(m.lastTake); got != 0 {
		t.Fatalf("last takeover %v before any, want 0", got)
	}
	m.JobStarted(failover.Takeover, "silence", scrapeAt)
	moved := scrapeAt.Add(1250 * time.Millisecond)
	m.Moved(failover.Takeover, moved)
	want := float64(moved.UnixMilli()) / 1000
	if got := testutil.ToFloat64(m.lastTake); math.Abs(got-want) > 1e-3 {
		t.Errorf("last takeover %f, want %f (%v)", got, want, moved)
	}
}

// jobs_total counts each job by how it ended; a fencing Test is counted
// too, though it is not timed.
func TestJobsAreCountedByOutcome(t *testing.T) {
	_, m := newTestMetrics(t)
	m.JobEnded(failover.JobDone{Job: failover.Takeover, Err: errors.New("netlink: operation not permitted")}, nil)
	m.JobEnded(failover.JobDone{Job: failover.GiveBack, Vetoed: true}, nil)
	m.JobEnded(failover.JobDone{Job: failover.Takeover, Answered: true}, nil)
	m.JobEnded(failover.JobDone{Job: failover.Fence, Vetoed: true}, nil)
	m.JobEnded(failover.JobDone{Job: failover.GiveBack}, nil)
	for _, c := range []struct{ job, outcome string }{
		{"takeover", "failed"}, {"giveback", "vetoed"}, {"takeover", "answered"}, {string(failover.Fence), "vetoed"}, {"giveback", "done"},
	} {
		if got := testutil.ToFloat64(m.jobs.WithLabelValues(c.job, c.outcome)); got != 1 {
			t.Errorf("jobs_total{job=%q,outcome=%q} = %v, want 1", c.job, c.outcome, got)
		}
	}
	if n := testutil.CollectAndCount(m.jobs); n != 5 {
		t.Errorf("%d job series, want 5", n)
	}
}

// A give-back that Test vetoed is not timed, nor is the one of a stop
// after it: it ran from no decision.
func TestVetoedGiveBackLeavesNoDurationBehind(t *testing.T) {
	_, m := newTestMetrics(t)
	m.JobStarted(failover.GiveBack, "heartbeats heard again", scrapeAt)
	m.JobEnded(failover.JobDone{Job: failover.GiveBack, Vetoed: true, At: scrapeAt.Add(time.Second)}, nil)
	m.Moved(failover.GiveBack, scrapeAt.Add(time.Hour)) // failoverd stops
	if n := testutil.CollectAndCount(m.giveBack); n != 1 {
		t.Fatalf("%d give-back histograms", n)
	}
	if err := testutil.CollectAndCompare(m.giveBack, strings.NewReader(`
# HELP ipfailover_giveback_duration_seconds From the decision to give back to the last address removed and released sent, hooks included.
# TYPE ipfailover_giveback_duration_seconds histogram
`+zeroBuckets("ipfailover_giveback_duration_seconds"))); err != nil {
		t.Error(err)
	}
}

// The primary's interval is the one its latest heartbeat advertised, on
// whichever link it came, at every scrape; a link whose heartbeats
// advertise none (the original's bare text) does not hide it.
func TestPrimaryIntervalIsTheLatestHeartbeats(t *testing.T) {
	stats := map[string]monitor.LinkStats{
		"priv0": {Received: 9, LastHeard: scrapeAt.Add(-100 * time.Millisecond), Interval: 100 * time.Millisecond},
		"pub0":  {Received: 4, LastHeard: scrapeAt.Add(-3 * time.Second), Interval: 250 * time.Millisecond},
		"pub1":  {Received: 2, LastHeard: scrapeAt.Add(-10 * time.Millisecond)}, // legacy: no interval
	}
	m := NewMetrics(prometheus.NewRegistry(), MetricsSources{Stats: func() map[string]monitor.LinkStats { return stats }, Now: func() time.Time { return scrapeAt }})
	want := `
# HELP ipfailover_primary_interval_seconds The primary's heartbeat interval, as its last heartbeat advertised.
# TYPE ipfailover_primary_interval_seconds gauge
ipfailover_primary_interval_seconds 0.1
`
	// The links come in a new order at each scrape.
	for range 32 {
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "ipfailover_primary_interval_seconds"); err != nil {
			t.Fatal(err)
		}
	}
}

// Before a heartbeat is heard there is no interval to show: the series
// is absent, not 0.
func TestNoPrimaryIntervalBeforeAHeartbeat(t *testing.T) {
	stats := map[string]monitor.LinkStats{"priv0": {}, "pub0": {}}
	m := NewMetrics(prometheus.NewRegistry(), MetricsSources{Stats: func() map[string]monitor.LinkStats { return stats }, Now: func() time.Time { return scrapeAt }})
	if n := testutil.CollectAndCount(m, "ipfailover_primary_interval_seconds", "ipfailover_heartbeat_age_seconds"); n != 0 {
		t.Errorf("%d interval and age series before any heartbeat, want none", n)
	}
}
