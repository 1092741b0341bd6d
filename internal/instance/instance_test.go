package instance

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfailover/ipfailover/internal/safefile"
)

// Two daemons started at the same moment with the same socket, after a
// crash left the socket file behind (the restart of a supervisor and a
// start by hand, say): exactly one runs, and the other is told that one
// does, every time.
func TestOfTwoSimultaneousStartsExactlyOneRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heartbeatd.sock")
	for round := range 300 {
		if round%2 == 0 { // a crash left the socket: nobody answers on it
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false)
			l.Close()
		}
		var (
			start sync.WaitGroup
			done  sync.WaitGroup
			ls    [2]*Listener
			errs  [2]error
		)
		start.Add(1)
		for i := range 2 {
			done.Go(func() {
				start.Wait()
				ls[i], errs[i] = Listen(path, "heartbeatd", "FAILOVER_LOCK_SOCKET")
			})
		}
		start.Done()
		done.Wait()
		won := 0
		for i := range 2 {
			var running *RunningError
			switch {
			case errs[i] == nil:
				won++
			case !errors.As(errs[i], &running):
				t.Fatalf("round %d: start %d failed otherwise: %v", round, i, errs[i])
			}
		}
		// The one that runs answers on the socket.
		if won == 1 {
			if c, err := net.Dial("unix", path); err != nil {
				t.Fatalf("round %d: the one that runs does not answer: %v", round, err)
			} else {
				c.Close()
			}
		}
		for _, l := range ls {
			if l != nil {
				l.Close()
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of two simultaneous starts run (%v); want exactly one", round, won, errs)
		}
	}
}

// A daemon that has closed its socket but is not done stopping (failoverd
// giving its addresses back) still holds the lock: another is refused
// until it is done, and then starts.
func TestTheLockIsHeldUntilTheDaemonIsDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "failoverd.sock")
	first, err := Listen(path, "failoverd", "FAILOVER_CONTROL_SOCKET")
	if err != nil {
		t.Fatal(err)
	}
	first.UnixListener.Close() // the socket alone: it is removed
	if _, err := os.Lstat(path); err == nil {
		t.Fatal("the closed socket is still there")
	}
	second, err := Listen(path, "failoverd", "FAILOVER_CONTROL_SOCKET")
	var running *RunningError
	if err == nil {
		second.Close()
		t.Fatal("a second daemon started while the first was stopping")
	}
	if !errors.As(err, &running) || !running.Silent || !strings.Contains(err.Error(), "another failoverd holds the lock "+path+".lock") {
		t.Fatalf("second start: %v; want the lock named", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := Listen(path, "failoverd", "FAILOVER_CONTROL_SOCKET")
	if err != nil {
		t.Fatalf("once the first is done: %v", err)
	}
	third.Close()
}

// A socket whose folder, or a folder above it, a user other than root
// (or this one) could write to is refused before anything is made there,
// naming the setting, the folder and the fix: a user who can write there
// could listen first, remove the socket so that a second daemon starts,
// or swap in a link.
func TestASocketFolderOthersMayWriteToIsRefused(t *testing.T) {
	shared := t.TempDir()
	// tree lists what is in shared.
	tree := func() []string {
		var out []string
		_ = filepath.WalkDir(shared, func(p string, _ os.DirEntry, _ error) error { out = append(out, p); return nil })
		return out
	}
	refused := func(path, folder string, want ...string) {
		t.Helper()
		before := tree()
		l, err := Listen(path, "heartbeatd", "FAILOVER_LOCK_SOCKET")
		if err == nil {
			l.Close()
			t.Fatalf("%s: listening; want the folder %s refused", path, folder)
		}
		ue, ok := errors.AsType[*safefile.UnsafeError](err)
		if !ok || ue.Path != folder {
			t.Fatalf("%s: %v; want %s refused", path, err, folder)
		}
		for _, w := range append(want, "FAILOVER_LOCK_SOCKET="+path+": refusing "+folder) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", path, err, w)
			}
		}
		if after := tree(); !slices.Equal(after, before) {
			t.Errorf("%s: made in a folder that is refused: %q, was %q", path, after, before)
		}
	}
	chmod(t, shared, 0o777)
	refused(filepath.Join(shared, "heartbeatd.sock"), shared, "writable by group and others", "fix: chmod go-w "+shared)
	// A folder to make, under one others may write to: not made.
	refused(filepath.Join(shared, "run", "heartbeatd.sock"), shared, "writable by group and others")
	// A folder such as /tmp: the fix is another folder.
	chmod(t, shared, 0o777|os.ModeSticky)
	refused(filepath.Join(shared, "heartbeatd.sock"), shared, "fix: move the socket to a folder only root can write to")
	// Below a folder others may write to.
	chmod(t, shared, 0o777)
	below := filepath.Join(shared, "run")
	if err := os.Mkdir(below, 0o755); err != nil {
		t.Fatal(err)
	}
	refused(filepath.Join(below, "heartbeatd.sock"), shared, "(on the path to "+below+")")
	chmod(t, shared, 0o755)
	l, err := Listen(filepath.Join(below, "heartbeatd.sock"), "heartbeatd", "FAILOVER_LOCK_SOCKET")
	if err != nil {
		t.Fatalf("once the folders are safe: %v", err)
	}
	l.Close()

	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: only root can give a folder to another user")
	}
	if err := os.Chown(below, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	refused(filepath.Join(below, "heartbeatd.sock"), below, "owned by uid 65534, not root", "fix: chown root "+below)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
