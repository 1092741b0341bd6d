package lab

import (
	"strings"
	"testing"
	"time"
)

// Sysctl writes the namespace's own parameter: the value is read back
// inside, and another namespace's device of the same name keeps its own.
func TestSysctlStaysInTheNamespace(t *testing.T) {
	l := New(t)
	a, b := l.Netns("a"), l.Netns("b")
	l.Veth(a, "lo9", b, "lo9") // a name the host is unlikely to have
	a.Sysctl("net.ipv4.neigh.lo9.delay_first_probe_time", "600")
	if got := strings.TrimSpace(a.MustRun("cat", "/proc/sys/net/ipv4/neigh/lo9/delay_first_probe_time")); got != "600" {
		t.Fatalf("inside %s: %q, want 600", a.Name, got)
	}
	if got := strings.TrimSpace(b.MustRun("cat", "/proc/sys/net/ipv4/neigh/lo9/delay_first_probe_time")); got == "600" {
		t.Fatalf("the other namespace's lo9 changed too")
	}
}

func TestStaysAndWaitFor(t *testing.T) {
	n := 0
	if Stays(100*time.Millisecond, func() bool { n++; return n < 3 }) {
		t.Error("Stays held although the condition failed on its third look")
	}
	start := time.Now()
	if !Stays(100*time.Millisecond, func() bool { return true }) || time.Since(start) < 100*time.Millisecond {
		t.Errorf("Stays of a true condition: returned after %v", time.Since(start))
	}
	if WaitFor(50*time.Millisecond, func() bool { return false }) {
		t.Error("WaitFor of a false condition held")
	}
}
