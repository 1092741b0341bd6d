package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notify"
)

type fakeRunner struct {
	results []hooks.Result
	err     error
}

func (f fakeRunner) Run(context.Context, hooks.Stage, hooks.Env) ([]hooks.Result, error) {
	return f.results, f.err
}

func TestHookRunsAreCountedByStageAndResult(t *testing.T) {
	m := NewHooks(prometheus.NewRegistry())
	r := m.Count(fakeRunner{results: []hooks.Result{
		{Stage: hooks.PreAcq, Name: "PreAcq10", Duration: 20 * time.Millisecond},
		{Stage: hooks.PreAcq, Name: "PreAcq20", Exit: 3},
		{Stage: hooks.PreAcq, Name: "PreAcq30", Exit: -1, TimedOut: true, Err: hooks.ErrTimeout},
	}, err: errors.New("PreAcq40: not executable")})
	if _, err := r.Run(context.Background(), hooks.PreAcq, hooks.Env{}); err == nil {
		t.Fatal("the runner's error was lost")
	}
	for result, want := range map[string]float64{resultOK: 1, resultFailed: 1, resultTimeout: 1, resultError: 1} {
		if got := testutil.ToFloat64(m.runs.WithLabelValues("PreAcq", result)); got != want {
			t.Errorf("hook_runs_total{PreAcq,%s} = %v, want %v", result, got, want)
		}
	}
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, notify.Notice) error {
	return errors.New("sendmail: exit 75")
}

func TestNoticeDeliveryFailuresAreCounted(t *testing.T) {
	d := NewDeliveries(prometheus.NewRegistry())
	ns := d.Count([]notify.Notifier{notify.Mail{Sendmail: "/bin/false", To: "root"}, failingNotifier{}})
	if err := ns[1].Notify(context.Background(), notify.Notice{}); err == nil {
		t.Fatal("the notifier's error was lost")
	}
	if got := testutil.ToFloat64(d.failures.WithLabelValues("other")); got != 1 {
		t.Errorf("delivery failures of other: %v", got)
	}
	if s := ns[0].(interface{ String() string }).String(); !strings.HasPrefix(s, "mail to root") {
		t.Errorf("the wrapped mail notifier calls itself %q", s)
	}
}

// The endpoint serves /metrics and nothing else.
func TestHandlerServesOnlyMetrics(t *testing.T) {
	reg := NewRegistry()
	served := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "served_total", Help: "A counter to find on the page."})
	served.Add(7)
	reg.MustRegister(served)
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
		if path == "/metrics" && !strings.Contains(string(body), "ipfailover_served_total 7") {
			t.Errorf("GET /metrics lacks the registry's counter:\n%s", body)
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
