package arbiter

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
)

// findings renders what Check found as -n prints it.
func findings(t *testing.T, fs []config.Finding) (out string, worst config.Level) {
	t.Helper()
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
		worst = max(worst, f.Level)
	}
	return b.String(), worst
}

func timedCheck(t *testing.T, c *config.Config, mine []string) (string, config.Level) {
	t.Helper()
	start := time.Now()
	out, worst := findings(t, Check(c, mine))
	took := time.Since(start)
	t.Logf("-n took %v:\n%s", took, out)
	if took > CheckTime+time.Second {
		t.Errorf("-n's look at the arbiter took %v, more than %v", took, CheckTime)
	}
	return out, worst
}

func wantIn(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("-n does not say %q:\n%s", w, out)
		}
	}
}

// -n shows the arbiter as this host sees it: the members that answer,
// refuse or are silent, whether the majority is reached, who holds the
// keys (this host's addresses first) and which nodes are alive; a
// majority out of reach is a warning naming the members, within
// CheckTime.
func TestCheckShowsTheArbiter(t *testing.T) {
	e := startEtcd(t)
	primary := run(t, dialEtcd(t, e.Endpoints), Config{Node: "server1", Role: "primary", TTL: etcdTTL})
	standby := run(t, dialEtcd(t, e.Endpoints), Config{Node: "server2", Role: "standby 150", TTL: etcdTTL})
	eventually(t, "both reachable", 5*time.Second, func() bool { return primary.Reachable() && standby.Reachable() })
	for r, a := range map[*running]string{primary: "198.51.100.1", standby: "203.0.113.9"} {
		if h, err := r.Claim(context.Background(), a); err != nil || h != r.cfg.Node {
			t.Fatalf("%s claims %s: %q, %v", r.cfg.Node, a, h, err)
		}
	}
	c := &config.Config{Arbiter: e.Endpoints, ArbiterTTL: etcdTTL, NodeName: "server2"}
	mine := []string{"198.51.100.1", "198.51.100.2"}

	out, worst := timedCheck(t, c, mine)
	if worst != config.OK {
		t.Errorf("all members up: level %v, want ok", worst)
	}
	wantIn(t, out, "the majority is reached", "3 of 3 members answer",
		"this host's addresses: 198.51.100.1 held by server1, 198.51.100.2 free; other address keys: 203.0.113.9 held by server2 (this host)",
		"nodes alive: server1 (primary), server2 (standby 150)")
	if strings.Contains(out, "is not among them") {
		t.Errorf("server2 runs, -n says it does not:\n%s", out)
	}

	e.Members[0].Kill()
	e.Members[1].Pause()
	defer e.Members[1].Resume()
	out, worst = timedCheck(t, c, mine)
	if worst != config.Warning {
		t.Errorf("two members of three out: level %v, want a warning", worst)
	}
	wantIn(t, out, "the majority (2 of 3) cannot be reached", "1 of 3 members answer",
		e.Endpoints[0]+" refuses the connection", e.Endpoints[1]+" is silent")

	e.Members[1].Resume()
	eventually(t, "the majority back", 10*time.Second, primary.Reachable)
	c.NodeName = "server3"
	out, worst = timedCheck(t, c, nil)
	if worst != config.OK {
		t.Errorf("two members of three up: level %v, want ok", worst)
	}
	wantIn(t, out, "2 of 3 members answer", e.Endpoints[0]+" refuses the connection",
		"this host's addresses: none; other address keys: ", // the leases let go during the outage may be gone or not
		"this host (server3) is not among them")
}
