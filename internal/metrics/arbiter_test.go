package metrics

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/metrics/metricstest"
)

// The arbiter's metrics follow a real client over the in-memory etcd:
// the members answering, the majority reached, the time left to the
// lease's deadline, the leases lost, and who holds each address key
// (this host's addresses shown free when nobody does).
func TestArbiterMetricsFollowTheClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 3 * time.Second
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		c, err := arbiter.New(m.Conn("server1"), arbiter.Config{Node: "server1", Role: "primary", TTL: ttl, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = c.Run(ctx) }()
		defer func() { cancel(); <-done }()
		reg := NewRegistry()
		a := NewArbiter(reg, c.Status, func() []string { return []string{"198.51.100.1", "198.51.100.2", "198.51.100.2"} })
		metricstest.Lint(t, "arbiter", reg, a)

		time.Sleep(100 * time.Millisecond) // the first round
		if h, err := c.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("claim: %q, %v", h, err)
		}
		get := func(name string) float64 {
			t.Helper()
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fams {
				if f.GetName() == name {
					mm := f.GetMetric()[0]
					return mm.GetGauge().GetValue() + mm.GetCounter().GetValue()
				}
			}
			t.Fatalf("no %s", name)
			return 0
		}
		if get("ipfailover_arbiter_reachable") != 1 || get("ipfailover_arbiter_members") != 3 || get("ipfailover_arbiter_members_answering") != 3 {
			t.Errorf("reachable %v, members %v, answering %v; want 1, 3, 3", get("ipfailover_arbiter_reachable"),
				get("ipfailover_arbiter_members"), get("ipfailover_arbiter_members_answering"))
		}
		if left := get("ipfailover_arbiter_lease_remaining_seconds"); left <= 0 || left > (ttl-arbiter.Margin(ttl)).Seconds() {
			t.Errorf("lease remaining %v s, want in (0, %v]", left, ttl-arbiter.Margin(ttl))
		}
		want := `
# HELP ipfailover_arbiter_address_holder_info 1 for each address key under the prefix, with the node that holds it, as this host last read them; this host's addresses with holder empty when nobody holds them.
# TYPE ipfailover_arbiter_address_holder_info gauge
ipfailover_arbiter_address_holder_info{address="198.51.100.1",holder="server1"} 1
ipfailover_arbiter_address_holder_info{address="198.51.100.2",holder=""} 1
`
		if err := testutil.CollectAndCompare(a, strings.NewReader(want), "ipfailover_arbiter_address_holder_info"); err != nil {
			t.Error(err)
		}

		// Cut from the majority past the deadline: unreachable, no time
		// left, one lease lost.
		m.Cut("server1", arbiter.DropRequests)
		time.Sleep(ttl)
		if get("ipfailover_arbiter_reachable") != 0 || get("ipfailover_arbiter_lease_remaining_seconds") != 0 || get("ipfailover_arbiter_leases_lost_total") != 1 {
			t.Errorf("cut: reachable %v, remaining %v, lost %v; want 0, 0, 1", get("ipfailover_arbiter_reachable"),
				get("ipfailover_arbiter_lease_remaining_seconds"), get("ipfailover_arbiter_leases_lost_total"))
		}
	})
}
