package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipfailover/ipfailover/internal/failoverd"
	"github.com/ipfailover/ipfailover/internal/heartbeatd"
	"github.com/ipfailover/ipfailover/internal/metrics"
)

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
	freg := metrics.NewRegistry()
	failoverd.NewMetrics(freg, failoverd.MetricsSources{Holding: func() int { return 0 }})
	hreg := metrics.NewRegistry()
	heartbeatd.NewMetrics(hreg, nil)
	metrics.NewArbiter(hreg, nil, nil) // both daemons', with FAILOVER_ARBITER
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
