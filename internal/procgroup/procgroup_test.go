//go:build unix

package procgroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script returns a command that runs body with /bin/sh in dir.
func script(dir, body string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", body)
	cmd.Dir = dir
	return cmd
}

// readPids reads the pid files that a test's script wrote, in order.
func readPids(t *testing.T, dir string, names ...string) []int {
	t.Helper()
	pids, err := pidFiles(dir, names...)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func pidFiles(dir string, names ...string) ([]int, error) {
	var pids []int
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return pids, fmt.Errorf("the script did not write %s: %w", name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return pids, fmt.Errorf("%s: %w", name, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// gone reports whether pid, a process this test started, has exited. A
// zombie that its new parent has not reaped yet counts as gone.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false // no /proc (macOS): kill(pid, 0) said it is there
	}
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	return len(f) > 0 && (string(f[0]) == "Z" || string(f[0]) == "X")
}

// killAtEnd SIGKILLs pids when the test ends, so a failing test leaves
// nothing running.
func killAtEnd(t *testing.T, pids *[]int) {
	t.Cleanup(func() {
		for _, pid := range *pids {
			if !gone(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// A child that forks a grandchild, both hanging: at the timeout the whole
// group is stopped with SIGTERM, and Run returns once it is gone.
func TestTimeoutStopsWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The leader forks a child shell, which forks a grandchild sleep; the
	// leader and the child wait, so all three hang.
	cmd := script(dir, `echo $$ > leader.pid
/bin/sh -c 'echo $$ > child.pid; sleep 30 & echo $! > grandchild.pid; wait' &
wait`)
	var pids []int
	killAtEnd(t, &pids)
	var stopCause error
	var groups []int
	const timeout = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), cmd, Options{
		Timeout: timeout,
		Grace:   5 * time.Second, // they all obey SIGTERM: Run must not wait for the grace
		OnStop: func(cause error) {
			// Not t.Fatal: this runs on Run's goroutine, not the test's.
			stopCause = cause
			var err error
			if pids, err = pidFiles(dir, "leader.pid", "child.pid", "grandchild.pid"); err != nil {
				t.Error(err)
			}
			for _, pid := range pids {
				pgid, err := syscall.Getpgid(pid)
				if err != nil {
					t.Errorf("pid %d gone before the timeout: %v", pid, err)
				}
				groups = append(groups, pgid)
			}
		},
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 3 {
		t.Fatalf("OnStop was not called, or the script did not start all three (pids %v)", pids)
	}
	for i, pid := range pids {
		if groups[i] != cmd.Process.Pid {
			t.Errorf("pid %d was in group %d, want the program's own group %d", pid, groups[i], cmd.Process.Pid)
		}
		if !gone(pid) {
			t.Errorf("pid %d is still running after Run returned", pid)
		}
	}
	if pids[0] != cmd.Process.Pid {
		t.Errorf("leader pid %d, want %d", pids[0], cmd.Process.Pid)
	}
	if ours, _ := syscall.Getpgid(0); ours == cmd.Process.Pid {
		t.Error("the program shares the test's process group")
	}
	if !errors.Is(stopCause, ErrTimeout) || !errors.Is(res.Stopped, ErrTimeout) {
		t.Errorf("OnStop cause %v, Stopped %v; want ErrTimeout", stopCause, res.Stopped)
	}
	if res.Exit() != -1 || res.Lingering || res.OutputHeld() {
		t.Errorf("result %+v (exit %d), want killed by a signal, nothing left", res, res.Exit())
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("Run took %v with a %v timeout", elapsed, timeout)
	}
}

// A grandchild that ignores SIGTERM (and holds no output) is killed with
// SIGKILL when the grace is over, and Run waits for that.
func TestIgnoredSIGTERMEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := script(dir, `(trap '' TERM; exec sleep 30 >/dev/null 2>&1) &
echo $! > stubborn.pid
sleep 30`)
	var pids []int
	killAtEnd(t, &pids)
	const timeout, grace = 200 * time.Millisecond, 400 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), cmd, Options{Timeout: timeout, Grace: grace})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	pids = readPids(t, dir, "stubborn.pid")
	if !gone(pids[0]) {
		t.Error("the process that ignored SIGTERM is still running after Run returned")
	}
	if !errors.Is(res.Stopped, ErrTimeout) || res.Lingering {
		t.Errorf("result %+v", res)
	}
	if min := timeout + grace; elapsed < min || elapsed > min+time.Second {
		t.Errorf("Run took %v, want about timeout+grace = %v", elapsed, min)
	}
}

// The context's end stops the group like a timeout, with the context's
// cause as the reason.
func TestContextEndStopsGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := script(dir, `sleep 30 & echo $! > child.pid; wait`)
	var pids []int
	killAtEnd(t, &pids)
	errShutdown := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(200*time.Millisecond, func() { cancel(errShutdown) })
	res, err := Run(ctx, cmd, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pids = readPids(t, dir, "child.pid")
	if !gone(pids[0]) {
		t.Error("the program's child is still running after Run returned")
	}
	if !errors.Is(res.Stopped, errShutdown) || errors.Is(res.Stopped, ErrTimeout) {
		t.Errorf("Stopped = %v, want the context's cause", res.Stopped)
	}
}

// A program that traps SIGTERM and exits 0 was still stopped.
func TestTrappedSIGTERMStillCountsAsStopped(t *testing.T) {
	t.Parallel()
	cmd := script(t.TempDir(), `trap 'exit 0' TERM; sleep 30 & wait`)
	res, err := Run(context.Background(), cmd, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit() != 0 || !errors.Is(res.Stopped, ErrTimeout) {
		t.Errorf("exit %d, Stopped %v; want 0 and ErrTimeout", res.Exit(), res.Stopped)
	}
}

// A program that exits on its own is reported as it exited, and what it
// left running is not touched.
func TestOwnExitLeavesGroupAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := script(dir, `sleep 30 >/dev/null 2>&1 &
echo $! > service.pid
echo bye >&2
exit 3`)
	var pids []int
	killAtEnd(t, &pids)
	out := NewOutput(100)
	cmd.Stdout, cmd.Stderr = out, out
	res, err := Run(context.Background(), cmd, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pids = readPids(t, dir, "service.pid")
	var exitErr *exec.ExitError
	if res.Exit() != 3 || !errors.As(res.Err, &exitErr) || res.Stopped != nil || res.OutputHeld() {
		t.Errorf("result %+v (exit %d), want exit 3 on its own", res, res.Exit())
	}
	if out.String() != "bye\n" {
		t.Errorf("output %q", out.String())
	}
	time.Sleep(100 * time.Millisecond)
	if gone(pids[0]) {
		t.Error("the process left by a program that exited on its own was killed")
	}
}

// A process left holding the output does not keep Run waiting beyond the
// grace after the program's own exit, and is not killed.
func TestLeftoverHoldingOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := script(dir, `sleep 30 & echo $! > leftover.pid`)
	var pids []int
	killAtEnd(t, &pids)
	cmd.Stdout = NewOutput(100)
	const grace = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), cmd, Options{Timeout: 10 * time.Second, Grace: grace})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	pids = readPids(t, dir, "leftover.pid")
	if !res.OutputHeld() || res.Exit() != 0 || res.Stopped != nil {
		t.Errorf("result %+v, want exit 0 with the output held", res)
	}
	if elapsed < grace || elapsed > grace+time.Second {
		t.Errorf("Run took %v, want about the %v grace", elapsed, grace)
	}
	if gone(pids[0]) {
		t.Error("the leftover was killed")
	}
}

func TestStartError(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(filepath.Join(t.TempDir(), "missing"))
	if _, err := Run(context.Background(), cmd, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run of a missing program: %v, want a start error", err)
	}
}

func TestOutputBound(t *testing.T) {
	o := NewOutput(5)
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := o.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got, want := o.String(), "abcde [output truncated]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	o = NewOutput(5)
	o.Write([]byte("abcde"))
	if got := o.String(); got != "abcde" {
		t.Errorf("String() of exactly the bound = %q", got)
	}
}
