package notify

import (
	"errors"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleNotice is a takeover after both links went silent, with a hook that
// failed and one that timed out.
func sampleNotice() Notice {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return Notice{
		Kind:      notice.Takeover,
		At:        at,
		Node:      "server2",
		Peer:      "192.0.2.1",
		Addresses: []string{"eth0:198.51.100.1/32"},
		Links: []notice.Link{
			{Name: "eth1", LastHeard: at.Add(-3 * time.Second)},
			{Name: "eth0", LastHeard: at.Add(-4 * time.Second)},
		},
		Hooks: []hooks.Result{
			{Stage: "Test", Name: "Test", Duration: 12 * time.Millisecond},
			{Stage: "PreAcq", Name: "PreAcq10.StopDIP", Duration: 1500 * time.Millisecond},
			{Stage: "PostAcq", Name: "PostAcq20.StartApache", Exit: 3, Duration: 2 * time.Second, Err: errors.New("exit status 3")},
			{Stage: "PostAcq", Name: "PostAcq30.StartTimer", Exit: -1, TimedOut: true, Duration: 30 * time.Second},
		},
		Detail: "Heartbeats from 192.0.2.1 stopped on eth0 and eth1.",
	}
}

// standIn writes an executable /bin/sh script that records its arguments
// and standard input in dir (as files "args" and "stdin"), then runs tail.
func standIn(t *testing.T, tail string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	q := func(name string) string { return "'" + filepath.Join(dir, name) + "'" }
	script := "#!/bin/sh\n" +
		"printf '%s\\n' \"$@\" > " + q("args") + "\n" +
		"cat > " + q("stdin") + "\n" +
		tail + "\n"
	path = filepath.Join(dir, "stand-in")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustContain(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}
