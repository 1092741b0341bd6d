package heartbeatd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/instance"
)

// One heartbeatd per FAILOVER_LOCK_SOCKET: a second start while the first
// runs is refused, naming the first's pid and the setting; once the first
// has stopped, the next one starts, and so does one after a crash that
// left the socket file behind.
func TestASecondHeartbeatdWithTheSameLockSocketIsRefused(t *testing.T) {
	c := &config.Config{LockSocket: filepath.Join(t.TempDir(), "run", "heartbeatd.sock")}
	first, err := Lock(c)
	if err != nil {
		t.Fatal(err)
	}
	go instance.Answer(first)
	if st, err := os.Stat(c.LockSocket); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("lock socket: %v %v, want mode 0600", st.Mode(), err)
	}
	for range 3 { // refused again and again: the first keeps answering
		second, err := Lock(c)
		var running *instance.RunningError
		if err == nil {
			second.Close()
			t.Fatal("a second heartbeatd started beside the first")
		}
		want := fmt.Sprintf("another heartbeatd (pid %d) runs and answers on %s (FAILOVER_LOCK_SOCKET)", os.Getpid(), c.LockSocket)
		if !errors.As(err, &running) || running.PID != os.Getpid() || !strings.Contains(err.Error(), want) {
			t.Fatalf("second start: %v, want %q", err, want)
		}
	}
	first.Close()
	next, err := Lock(c)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	// A crash leaves the file, and nobody answers on it.
	next.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	next.Close()
	if _, err := os.Stat(c.LockSocket); err != nil {
		t.Fatal(err)
	}
	again, err := Lock(c)
	if err != nil {
		t.Fatalf("after a crash: %v", err)
	}
	again.Close()
}
