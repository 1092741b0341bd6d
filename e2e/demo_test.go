package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runDemo runs make demo's script with this suite's daemons and extra
// configuration lines, and returns what it printed.
func runDemo(t *testing.T, conf string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the demo builds network namespaces: needs root")
	}
	cmd := exec.Command("../scripts/demo.sh")
	cmd.Env = append(os.Environ(), "DEMO_BIN="+bin, "DEMO_CONF="+conf)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the demo ran for two minutes:\n%s", out)
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	return string(out)
}

// demoTookOver is the demo's sentence on when failoverd took over, after
// the last heartbeat it heard, and whether it says it waited for the
// timeout.
var demoTookOver = regexp.MustCompile(`so it took over (\d+) ms after that heartbeat; it (did not wait|waited) for the (\d+) ms timeout`)

// The demo says why the takeover came when it did from what the run
// measured: it printed "failoverd did not wait for the timeout" whatever
// happened, also when failoverd did wait for it.
func TestDemoSaysWhatTheRunMeasured(t *testing.T) {
	for _, c := range []struct {
		name, conf string
		waits      bool // the timeout must decide
	}{
		{"probes on", "", false},
		{"probes off", "FAILOVER_CONFIRM=-NO-", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := runDemo(t, c.conf)
			m := demoTookOver.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the demo does not say when failoverd took over:\n%s", out)
			}
			late, _ := strconv.Atoi(m[1])
			timeout, _ := strconv.Atoi(m[3])
			waited := m[2] == "waited"
			if waited != (late >= timeout) {
				t.Errorf("took over %d ms after the last heartbeat, and says it %s for the %d ms timeout", late, m[2], timeout)
			}
			if c.waits && !waited {
				t.Errorf("without probes the timeout decides, and the demo says %q:\n%s", m[0], out)
			}
			for _, want := range []string{"ms after the cut: no heartbeat on ", "failoverd started the giveback "} {
				if !strings.Contains(out, want) {
					t.Errorf("the demo does not say %q:\n%s", want, out)
				}
			}
		})
	}
}
