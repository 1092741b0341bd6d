package heartbeatd

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/metrics/metricstest"
	"github.com/ipfailover/ipfailover/internal/netif"
)

func testTargets() []heartbeat.Target {
	return []heartbeat.Target{
		{Addr: netip.MustParseAddr("192.0.2.255"), Route: netif.Route{Kind: netif.Broadcast, Interface: netif.Interface{Name: "priv0"}}, Sent: 40, Failed: 2},
		{Addr: netip.MustParseAddr("203.0.113.9"), Sent: 9},
	}
}

// Names, help texts and units pass client_golang's lint, the Go and
// process collectors included.
func TestMetricsPassLint(t *testing.T) {
	reg := metrics.NewRegistry()
	m := NewMetrics(reg, testTargets)
	m.Announced(AnnounceStart)
	metricstest.Lint(t, "heartbeatd", reg, m)
}

type noHooks struct{}

func (noHooks) Run(context.Context, hooks.Stage, hooks.Env) ([]hooks.Result, error) {
	return nil, nil
}

func TestHeartbeatdMetricsCount(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry(), testTargets)
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
	var off *Metrics // metrics off: every call is harmless
	off.Released()
	off.Announced(AnnounceStart)
	off.Health(true)
	if r := off.Checks(noHooks{}); r == nil {
		t.Error("Checks with metrics off lost the runner")
	}
}
