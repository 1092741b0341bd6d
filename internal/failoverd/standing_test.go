package failoverd

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/metrics/metricstest"
)

// standingWant is the standbys' metrics as the endpoint serves them.
func standingWant(prio, heard int, to, reason string) string {
	v := 0
	if reason != "" {
		v = 1
	}
	return fmt.Sprintf(`
# HELP ipfailover_standby_priority This standby's priority (FAILOVER_PRIORITY): the highest alive takes the addresses.
# TYPE ipfailover_standby_priority gauge
ipfailover_standby_priority %d
# HELP ipfailover_standbys_heard The other standbys of the primary heard within the timeout.
# TYPE ipfailover_standbys_heard gauge
ipfailover_standbys_heard %d
# TYPE ipfailover_yielding gauge
ipfailover_yielding{reason=%q,to=%q} %d
`, prio, heard, reason, to, v)
}

// compareStanding checks m's standbys' metrics, help of the yielding
// gauge aside (it is long).
func compareStanding(t *testing.T, who string, m *Metrics, want string) {
	t.Helper()
	got, err := testutil.CollectAndFormat(m, expfmt.TypeTextPlain, "ipfailover_standby_priority", "ipfailover_standbys_heard", "ipfailover_yielding")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(got), "\n") {
		if !strings.HasPrefix(l, "# HELP ipfailover_yielding ") {
			lines = append(lines, l)
		}
	}
	if g, w := strings.TrimSpace(strings.Join(lines, "\n")), strings.TrimSpace(want); g != w {
		t.Errorf("%s: metrics\n%s\nwant\n%s", who, g, w)
	}
}

// The standbys' metrics: each one's priority, how many others it hears,
// and whom it yields to and why: the one above it while all watch the
// primary, the one that holds the addresses once it took them; the
// holder yields to nobody.
func TestStandbyMetricsSayWhomEachYieldsTo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus()
		high, low := standbyWorld(t, b, "server2", 200), standbyWorld(t, b, "server4", 100)
		mh := NewMetrics(metrics.NewRegistry(), MetricsSources{Standing: high.d.Standing})
		reg := metrics.NewRegistry()
		ml := NewMetrics(reg, MetricsSources{Standing: low.d.Standing})
		beatAll(time.Second, high, low)
		compareStanding(t, "server4, the primary alive", ml, standingWant(100, 1, "server2", "ranks-above"))
		compareStanding(t, "server2, the primary alive", mh, standingWant(200, 1, "", ""))
		metricstest.Lint(t, "failoverd", reg, ml)

		// The primary's power goes off: server2 takes the addresses.
		high.waitState(failover.Active, 2*time.Second)
		time.Sleep(time.Second)
		compareStanding(t, "server4, server2 holding", ml, standingWant(100, 1, "server2", "holds"))
		compareStanding(t, "server2, holding", mh, standingWant(200, 1, "", ""))

		// server2's power goes off too: server4 hears nobody.
		high.stop()
		low.waitState(failover.Active, 3*time.Second)
		compareStanding(t, "server4, alone", ml, standingWant(100, 0, "", ""))
	})
}

// What the yielding gauge says of the arbiter's reasons.
func TestYieldReasonNamesTheArbiter(t *testing.T) {
	for _, tc := range []struct {
		y          failover.Yield
		to, reason string
	}{
		{failover.Yield{Arbiter: true}, "", "arbiter-unreachable"},
		{failover.Yield{Arbiter: true, To: leaseLost, Holds: true, Above: true}, "", "arbiter-lease-lost"},
		{failover.Yield{Arbiter: true, To: "server1", Holds: true}, "server1", "arbiter-holds"},
		{failover.Yield{To: "server3", Priority: 150, Holds: true}, "server3", "holds"},
		{failover.Yield{To: "server3", Priority: 150, Above: true}, "server3", "ranks-above"},
		{failover.Yield{}, "", ""},
	} {
		if to, reason := YieldReason(tc.y); to != tc.to || reason != tc.reason {
			t.Errorf("%+v: to %q, reason %q; want %q, %q", tc.y, to, reason, tc.to, tc.reason)
		}
	}
}
