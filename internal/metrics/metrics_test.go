package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/wire"
)

var t0 = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

func newTestFailoverd(t *testing.T) (*prometheus.Registry, *Failoverd) {
	t.Helper()
	stats := map[string]monitor.LinkStats{
		"priv0":         {Received: 7, LastHeard: t0.Add(-1500 * time.Millisecond), Interval: 100 * time.Millisecond, Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 3}},
		"pub0":          {Received: 5, LastHeard: t0.Add(-200 * time.Millisecond), Interval: 250 * time.Millisecond},
		monitor.Unknown: {Dropped: map[wire.DropReason]uint64{wire.DropUnknownLink: 2}},
	}
	reg := NewRegistry()
	m := NewFailoverd(reg, FailoverdSources{Stats: func() map[string]monitor.LinkStats { return stats }, Holding: func() int { return 1 }, Now: func() time.Time { return t0 }})
	return reg, m
}

// Names, help texts and units pass client_golang's lint, for every
// metric either daemon serves (the Go and process collectors included).
func TestMetricsPassLint(t *testing.T) {
	reg, m := newTestFailoverd(t)
	m.Started(failover.Starting, t0)
	m.Transition(failover.Starting, failover.Standby, t0)
	m.Notice(notice.Anomaly, "", t0)
	m.JobEnded(failover.JobDone{Job: failover.Takeover}, nil)
	m.Command(failover.OpHold, false, t0, "")
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("failoverd: %s: %s", p.Metric, p.Text)
	}
	for _, c := range []prometheus.Collector{m, m.transitions, m.state, m.takeover} {
		ps, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			t.Errorf("failoverd: %s: %s", p.Metric, p.Text)
		}
	}

	hreg := NewRegistry()
	h := NewHeartbeatd(hreg, testLinks)
	h.Announced(AnnounceStart)
	problems, err = testutil.GatherAndLint(hreg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("heartbeatd: %s: %s", p.Metric, p.Text)
	}
	ps, err := testutil.CollectAndLint(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		t.Errorf("heartbeatd: %s: %s", p.Metric, p.Text)
	}
	for _, reg := range []*prometheus.Registry{reg, hreg} {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if n := f.GetName(); !strings.HasPrefix(n, "ipfailover_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
				t.Errorf("%s is not named ipfailover_…", n)
			}
		}
	}
}

func testLinks() []heartbeat.Link {
	return []heartbeat.Link{
		{Target: netip.MustParseAddr("192.0.2.255"), Route: netif.Route{Kind: netif.Broadcast, Interface: netif.Interface{Name: "priv0"}}, Sent: 40, Failed: 2},
		{Target: netip.MustParseAddr("203.0.113.9"), Sent: 9},
	}
}

// One gauge per state of failover.States, 1 for the current one.
func TestStateGaugeFollowsTransitions(t *testing.T) {
	_, m := newTestFailoverd(t)
	m.Started(failover.Starting, t0)
	m.Transition(failover.Starting, failover.Standby, t0)
	m.Transition(failover.Standby, failover.Acquiring, t0)
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
	m.Transition(failover.Asking, failover.Conflict, t0)
	if got := testutil.ToFloat64(m.conflicts); got != 1 {
		t.Errorf("conflicts %v", got)
	}
}

// A takeover is timed from the decision to the last address announced;
// a give-back that no decision started (failoverd stopping) is not.
func TestJobDurations(t *testing.T) {
	_, m := newTestFailoverd(t)
	m.JobStarted(failover.Takeover, "silence", t0)
	m.Moved(failover.Takeover, t0.Add(750*time.Millisecond))
	m.JobEnded(failover.JobDone{Job: failover.Takeover, At: t0.Add(time.Second)}, nil)
	m.Moved(failover.GiveBack, t0.Add(2*time.Second))
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
	_, m := newTestFailoverd(t)
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

type fakeRunner struct {
	results []hooks.Result
	err     error
}

func (f fakeRunner) Run(context.Context, hooks.Stage, hooks.Env) ([]hooks.Result, error) {
	return f.results, f.err
}

func TestHookRunsAreCountedByStageAndResult(t *testing.T) {
	_, m := newTestFailoverd(t)
	r := m.Hooks(fakeRunner{results: []hooks.Result{
		{Stage: hooks.PreAcq, Name: "PreAcq10", Duration: 20 * time.Millisecond},
		{Stage: hooks.PreAcq, Name: "PreAcq20", Exit: 3},
		{Stage: hooks.PreAcq, Name: "PreAcq30", Exit: -1, TimedOut: true, Err: hooks.ErrTimeout},
	}, err: errors.New("PreAcq40: not executable")})
	if _, err := r.Run(context.Background(), hooks.PreAcq, hooks.Env{}); err == nil {
		t.Fatal("the runner's error was lost")
	}
	for result, want := range map[string]float64{resultOK: 1, resultFailed: 1, resultTimeout: 1, resultError: 1} {
		if got := testutil.ToFloat64(m.hooks.runs.WithLabelValues("PreAcq", result)); got != want {
			t.Errorf("hook_runs_total{PreAcq,%s} = %v, want %v", result, got, want)
		}
	}
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, notify.Event) error {
	return errors.New("sendmail: exit 75")
}

func TestNoticeDeliveryFailuresAreCounted(t *testing.T) {
	_, m := newTestFailoverd(t)
	ns := m.Notifiers([]notify.Notifier{notify.Mail{Sendmail: "/bin/false", To: "root"}, failingNotifier{}})
	if err := ns[1].Notify(context.Background(), notify.Event{}); err == nil {
		t.Fatal("the notifier's error was lost")
	}
	if got := testutil.ToFloat64(m.delivery.failures.WithLabelValues("other")); got != 1 {
		t.Errorf("delivery failures of other: %v", got)
	}
	if s := ns[0].(interface{ String() string }).String(); !strings.HasPrefix(s, "mail to root") {
		t.Errorf("the wrapped mail notifier calls itself %q", s)
	}
	m.Notice(notice.Unhealthy, "", t0)
	if testutil.ToFloat64(m.healthy) != 0 || testutil.ToFloat64(m.notices.WithLabelValues("primary-unhealthy")) != 1 {
		t.Error("an unhealthy notice did not set primary_healthy to 0")
	}
}

func TestHeartbeatdCounters(t *testing.T) {
	m := NewHeartbeatd(prometheus.NewRegistry(), testLinks)
	m.Released()
	m.Announced(AnnounceReleased)
	m.Health(false)
	want := `
# HELP ipfailover_heartbeat_send_errors_total Heartbeats that could not be sent (interface down, no carrier, a socket error), by link and target.
# TYPE ipfailover_heartbeat_send_errors_total counter
ipfailover_heartbeat_send_errors_total{link="-",target="203.0.113.9"} 0
ipfailover_heartbeat_send_errors_total{link="priv0",target="192.0.2.255"} 2
# HELP ipfailover_heartbeats_sent_total Heartbeats (and goodbyes) sent, by link and target.
# TYPE ipfailover_heartbeats_sent_total counter
ipfailover_heartbeats_sent_total{link="-",target="203.0.113.9"} 9
ipfailover_heartbeats_sent_total{link="priv0",target="192.0.2.255"} 40
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if testutil.ToFloat64(m.released) != 1 || testutil.ToFloat64(m.announces.WithLabelValues(AnnounceReleased)) != 1 || testutil.ToFloat64(m.healthy) != 0 {
		t.Error("released, announces or service_healthy did not move")
	}
	var off *Heartbeatd // metrics off: every call is harmless
	off.Released()
	off.Announced(AnnounceStart)
	off.Health(true)
	if r := off.Checks(fakeRunner{}); r == nil {
		t.Error("Checks with metrics off lost the runner")
	}
}

// The endpoint serves /metrics and nothing else.
func TestHandlerServesOnlyMetrics(t *testing.T) {
	reg, _ := newTestFailoverd(t)
	srv := httptest.NewServer(Handler(reg, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/debug/pprof/": 404, "/metrics/x": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), "ipfailover_heartbeats_received_total{link=\"priv0\"} 7") {
			t.Errorf("GET /metrics lacks the received counter:\n%s", body)
		}
	}
	resp, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", resp.StatusCode)
	}
}

// The dashboard in docs/grafana asks only for metrics the daemons serve.
func TestDashboardUsesTheRealNames(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana/ipfailover.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	served := map[string]bool{}
	freg, m := newTestFailoverd(t)
	m.Started(failover.Standby, t0)
	hreg := NewRegistry()
	NewHeartbeatd(hreg, testLinks)
	for _, reg := range []*prometheus.Registry{freg, hreg} {
		// Vectors show only once they have a child: describe everything.
		descs := make(chan *prometheus.Desc, 1000)
		go func() { reg.Describe(descs); close(descs) }()
		for d := range descs {
			if n := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch(d.String()); n != nil {
				served[n[1]] = true
			}
		}
	}
	used := regexp.MustCompile(`ipfailover_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) < 10 {
		t.Fatalf("the dashboard names only %d metrics", len(used))
	}
	for _, name := range used {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !served[name] && !served[base] {
			t.Errorf("the dashboard asks for %s, which neither daemon serves", name)
		}
	}
}

// Rounds of probes are counted by how they ended (a round that begins
// counts nothing yet), and each link's carrier follows the watch.
func TestProbeRoundsAndCarrier(t *testing.T) {
	m := NewFailoverd(prometheus.NewRegistry(), FailoverdSources{})
	now := time.Now()
	m.ProbeRound(true, "", "late", now)
	m.ProbeRound(false, failover.ProbeAnswered, "it lives", now)
	m.ProbeRound(true, "", "late", now)
	m.ProbeRound(false, failover.ProbeConfirmed, "no answer", now)
	m.ProbeRound(false, failover.ProbeConfirmed, "no answer", now)
	if got := testutil.ToFloat64(m.probes.WithLabelValues(failover.ProbeConfirmed)); got != 2 {
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
