package config

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestMetricsAddr(t *testing.T) {
	for _, tc := range []struct {
		value                string
		failoverd, heartbeat string // "" with bad: refused
		bad                  bool
	}{
		{value: ""},
		{value: "127.0.0.1", failoverd: "127.0.0.1:9694", heartbeat: "127.0.0.1:9695"},
		{value: "127.0.0.1:9100", failoverd: "127.0.0.1:9100", heartbeat: "127.0.0.1:9100"},
		{value: "::1", failoverd: "[::1]:9694", heartbeat: "[::1]:9695"},
		{value: "[::1]", failoverd: "[::1]:9694", heartbeat: "[::1]:9695"},
		{value: "[2001:db8::1]:9200", failoverd: "[2001:db8::1]:9200", heartbeat: "[2001:db8::1]:9200"},
		{value: ":9100", failoverd: ":9100", heartbeat: ":9100"},
		{value: "localhost", bad: true},
		{value: "127.0.0.1:0", bad: true},
		{value: "127.0.0.1:http", bad: true},
		{value: "127.0.0.1:70000", bad: true},
		{value: "fe80::1%eth0", bad: true},
	} {
		c, err := Load(Failoverd, Sources{Args: []string{"192.0.2.1", "eth0:198.51.100.10"}, Flags: Settings{KeyMetricsAddr: {Value: tc.value}}})
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), KeyMetricsAddr) {
				t.Errorf("%q: accepted (or an error that does not name the key: %v)", tc.value, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.value, err)
			continue
		}
		if got := c.MetricsListen(Failoverd); got != tc.failoverd {
			t.Errorf("%q: failoverd listens on %q, want %q", tc.value, got, tc.failoverd)
		}
		if got := c.MetricsListen(Heartbeatd); got != tc.heartbeat {
			t.Errorf("%q: heartbeatd listens on %q, want %q", tc.value, got, tc.heartbeat)
		}
	}
}

// The pages that give each daemon's metrics port give the one the code
// uses.
func TestMetricsPortsInThePages(t *testing.T) {
	for page, ports := range map[string][]uint16{
		"../../README.md":             {MetricsPortFailoverd, MetricsPortHeartbeatd},
		"../../docs/man/failoverd.8":  {MetricsPortFailoverd},
		"../../docs/man/heartbeatd.8": {MetricsPortHeartbeatd, MetricsPortFailoverd},
	} {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ports {
			if !strings.Contains(string(b), strconv.Itoa(int(p))) {
				t.Errorf("%s does not give the metrics port %d", page, p)
			}
		}
	}
}
