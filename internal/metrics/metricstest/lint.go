// Package metricstest checks a daemon's metrics in its collector's tests.
package metricstest

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Lint fails t for each problem client_golang's linter finds in the
// metrics reg gathers and in each of cs, and for each metric of reg not
// named ipfailover_… (the Go and process collectors' aside). daemon
// names the registry in the messages.
func Lint(t testing.TB, daemon string, reg *prometheus.Registry, cs ...prometheus.Collector) {
	t.Helper()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		ps, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		problems = append(problems, ps...)
	}
	for _, p := range problems {
		t.Errorf("%s: %s: %s", daemon, p.Metric, p.Text)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if n := f.GetName(); !strings.HasPrefix(n, "ipfailover_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			t.Errorf("%s: %s is not named ipfailover_…", daemon, n)
		}
	}
}
