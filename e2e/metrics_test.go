package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/lab"
)

// scrape reads the metrics endpoint on port of ns's loopback address.
func scrape(t *testing.T, ns *lab.NS, port int) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		return err
	}); err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /metrics HTTP/1.0\r\nHost: lab\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value is the sample of family name whose labels include every pair of
// labels (name, value, ...); histograms give their count. -1: none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// currentState is the state whose ipfailover_state gauge is 1, checking
// that every other one is 0.
func currentState(t *testing.T, fams map[string]*dto.MetricFamily) failover.State {
	t.Helper()
	var current []failover.State
	for _, s := range failover.States {
		switch value(fams, "ipfailover_state", "state", string(s)) {
		case 1:
			current = append(current, s)
		case 0:
		default:
			t.Fatalf("no ipfailover_state gauge for %s", s)
		}
	}
	if len(current) != 1 {
		t.Fatalf("ipfailover_state is 1 for %v, want exactly one state", current)
	}
	return current[0]
}

// The metrics of a takeover and a give-back, scraped as they happen, and
// failoverctl events afterwards: the takeover with its hooks in order.
func TestMetricsAndEventsOfATakeoverAndGiveBack(t *testing.T) {
	w := newWorld(t, withHook("Test", ""),
		// The takeover lasts a second, so that it can be scraped while it runs.
		withHook("PreAcq10.a", hookScript+"sleep 1\n"), withHook("PostAcq10.b", ""),
		withHook("PreRel10.c", ""), withHook("PostRel10.d", ""),
		withConf("FAILOVER_METRICS_ADDR=127.0.0.1"), withPrimaryConf("FAILOVER_METRICS_ADDR=127.0.0.1"))
	w.start()
	fd, hb := int(config.MetricsPortFailoverd), int(config.MetricsPortHeartbeatd)
	var fams map[string]*dto.MetricFamily
	sample := func(ns *lab.NS, port int) func() bool {
		return func() bool {
			var err error
			fams, err = scrape(t, ns, port)
			return err == nil
		}
	}
	if !lab.WaitFor(2*time.Second, func() bool {
		return sample(w.S2, fd)() && value(fams, "ipfailover_heartbeats_received_total", "link", "priv0") > 0 &&
			value(fams, "ipfailover_heartbeats_received_total", "link", "pub0") > 0
	}) {
		t.Fatalf("no heartbeats counted on both links in failoverd's metrics:\n%v\n%s", fams["ipfailover_heartbeats_received_total"], w.secondary.Output())
	}
	if s := currentState(t, fams); s != failover.Standby {
		t.Errorf("state gauge says %s, want standby", s)
	}
	if n := value(fams, "ipfailover_takeover_duration_seconds"); n != 0 {
		t.Errorf("%v takeovers before any", n)
	}
	if iv := value(fams, "ipfailover_primary_interval_seconds"); iv != interval.Seconds() {
		t.Errorf("primary interval %v s, want %v", iv, interval.Seconds())
	}
	if age := value(fams, "ipfailover_heartbeat_age_seconds", "link", "priv0"); age < 0 || age > timeout.Seconds() {
		t.Errorf("priv0's heartbeat age %v s while it is alive", age)
	}
	if value(fams, "go_goroutines") <= 0 || value(fams, "process_cpu_seconds_total") < 0 {
		t.Error("no Go or process collector in failoverd's metrics")
	}
	if !sample(w.S1, hb)() || value(fams, "ipfailover_heartbeats_sent_total", "link", "priv0") <= 0 {
		t.Fatalf("heartbeatd's metrics count no heartbeat sent on priv0: %v", fams["ipfailover_heartbeats_sent_total"])
	}

	// During the takeover (its PreAcq hook sleeps a second).
	w.cutBoth()
	// A scrape reads the state gauge and the transitions counter one after
	// the other, so it may see the one updated and not yet the other: wait
	// for both, then check the count is exactly one.
	if !lab.WaitFor(timeout+slack, func() bool {
		return sample(w.S2, fd)() && currentState(t, fams) == failover.Acquiring &&
			value(fams, "ipfailover_state_transitions_total", "to", string(failover.Acquiring)) >= 1
	}) {
		t.Fatalf("never scraped failoverd acquiring\n%s", w.secondary.Output())
	}
	if n := value(fams, "ipfailover_takeover_duration_seconds"); n != 0 {
		t.Errorf("takeover timed (%v) before its addresses were added", n)
	}
	if n := value(fams, "ipfailover_state_transitions_total", "to", string(failover.Acquiring)); n != 1 {
		t.Errorf("%v transitions to acquiring", n)
	}
	w.waitState("active", time.Second+slack)
	if !lab.WaitFor(time.Second, func() bool { return sample(w.S2, fd)() && value(fams, "ipfailover_takeover_duration_seconds") == 1 }) {
		t.Fatalf("no takeover in the duration histogram: %v", fams["ipfailover_takeover_duration_seconds"])
	}
	if s := currentState(t, fams); s != failover.Active {
		t.Errorf("state gauge says %s, want active", s)
	}
	if sum := fams["ipfailover_takeover_duration_seconds"].Metric[0].Histogram.GetSampleSum(); sum < 1 || sum > 1+timeout.Seconds()+slack.Seconds() {
		t.Errorf("the takeover took %v s by the histogram; its PreAcq hook alone sleeps 1 s", sum)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ipfailover_state_transitions_total", []string{"from", "acquiring", "to", "active"}, 1},
		{"ipfailover_addresses_held", nil, 1},
		{"ipfailover_hook_runs_total", []string{"stage", "Test", "result", "ok"}, 1},
		{"ipfailover_hook_runs_total", []string{"stage", "PreAcq", "result", "ok"}, 1},
		{"ipfailover_hook_runs_total", []string{"stage", "PostAcq", "result", "ok"}, 1},
		{"ipfailover_jobs_total", []string{"job", "takeover", "outcome", "done"}, 1},
		{"ipfailover_notices_total", []string{"kind", "takeover"}, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if ts := value(fams, "ipfailover_last_takeover_timestamp_seconds"); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last takeover at %v", ts)
	}

	// The give-back.
	w.RestorePrivate()
	w.RestorePublic()
	w.waitState("standby", timeout+holdDown+2*slack)
	if !lab.WaitFor(time.Second, func() bool { return sample(w.S2, fd)() && value(fams, "ipfailover_giveback_duration_seconds") == 1 }) {
		t.Fatalf("no give-back in the duration histogram: %v", fams["ipfailover_giveback_duration_seconds"])
	}
	if s := currentState(t, fams); s != failover.Standby {
		t.Errorf("state gauge says %s, want standby", s)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ipfailover_state_transitions_total", []string{"from", "releasing", "to", "standby"}, 1},
		{"ipfailover_addresses_held", nil, 0},
		{"ipfailover_hook_runs_total", []string{"stage", "PreRel", "result", "ok"}, 1},
		{"ipfailover_hook_runs_total", []string{"stage", "Test", "result", "ok"}, 2},
		{"ipfailover_takeover_duration_seconds", nil, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if !lab.WaitFor(time.Second, func() bool {
		return sample(w.S1, hb)() && value(fams, "ipfailover_released_received_total") == 1 &&
			value(fams, "ipfailover_announces_total", "reason", "released") == 1
	}) {
		t.Errorf("heartbeatd's metrics count no released and its re-announce: %v %v", fams["ipfailover_released_received_total"], fams["ipfailover_announces_total"])
	}
	if n := value(fams, "ipfailover_heartbeat_send_errors_total", "link", "priv0"); n <= 0 {
		t.Errorf("heartbeatd counted %v send errors on priv0 while its cable was out", n)
	}

	// The history: the takeover, its hooks in the order they ran, then
	// the give-back.
	var events []history.Entry
	if err := json.Unmarshal([]byte(w.mustCtl("events", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	var story []string
	var takeoverHooks []string
	for _, e := range events {
		switch e.Kind {
		case history.KindTransition:
			story = append(story, string(e.From)+">"+string(e.To))
		case history.KindJobStart:
			story = append(story, "start "+string(e.Job))
		case history.KindJobEnd:
			story = append(story, "end "+string(e.Job)+" "+e.Outcome)
			if e.Job == failover.Takeover {
				for _, h := range e.Hooks {
					takeoverHooks = append(takeoverHooks, string(h.Stage)+" "+h.Name+" "+h.Outcome())
				}
			}
		}
	}
	got := strings.Join(story, ", ")
	for _, want := range []string{">acquiring, start takeover, end takeover done, acquiring>active", ">releasing, start giveback, end giveback done, releasing>standby"} {
		if !strings.Contains(got, want) {
			t.Errorf("events %q lack %q", got, want)
		}
	}
	if strings.Index(got, "end takeover") > strings.Index(got, "start giveback") {
		t.Errorf("the give-back comes before the takeover's end: %s", got)
	}
	if h, want := strings.Join(takeoverHooks, "; "), "Test Test exit 0; PreAcq PreAcq10.a exit 0; PostAcq PostAcq10.b exit 0"; h != want {
		t.Errorf("the takeover's hooks in the history: %q, want %q", h, want)
	}
	text := w.mustCtl("events", "--since", "1h")
	for _, want := range []string{"takeover ends: done", "PreAcq PreAcq10.a: exit 0", "giveback ends: done", "failoverd started in state starting"} {
		if !strings.Contains(text, want) {
			t.Errorf("failoverctl events lacks %q:\n%s", want, text)
		}
	}
}
