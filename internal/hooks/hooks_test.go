package hooks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

var testAddr = netip.MustParseAddr("192.0.2.10")

// syncBuffer lets the test read the log while hooks may still write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		recs = append(recs, m)
	}
	return recs
}

// newRunner returns a Runner over a fresh hook folder, logging JSON at
// debug level into the returned buffer, and the address folder.
func newRunner(t *testing.T) (*Runner, string, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	r := &Runner{
		Dir:     t.TempDir(),
		Timeout: 10 * time.Second,
		Log:     slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	dir := r.Folder(testAddr)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return r, dir, buf
}

// writeHook writes a /bin/sh script; the mode is set explicitly so the
// umask does not matter.
func writeHook(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestListByteOrder(t *testing.T) {
	r, dir, _ := newRunner(t)
	for _, n := range []string{"PreAcq20.b", "PreAcq10.a", "PreAcq", "PreAcq2", "PostAcq1", "Test"} {
		writeHook(t, dir, n, `echo "$0" >> order.txt`, 0o755)
	}
	want := []string{"PreAcq", "PreAcq10.a", "PreAcq2", "PreAcq20.b"}
	got, err := r.List(testAddr, PreAcq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(got), want) {
		t.Fatalf("List = %v, want %v", names(got), want)
	}
	if got[0] != filepath.Join(dir, "PreAcq") {
		t.Errorf("List returned %q, want the full path", got[0])
	}

	// Run keeps that order and runs them one after the other.
	res, err := r.Run(context.Background(), PreAcq, Env{Address: testAddr})
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, x := range res {
		ran = append(ran, x.Name)
		if x.Stage != PreAcq || x.Path != filepath.Join(dir, x.Name) {
			t.Errorf("result %+v: wrong stage or path", x)
		}
	}
	if !slices.Equal(ran, want) {
		t.Errorf("results in order %v, want %v", ran, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "order.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := names(strings.Fields(string(b))); !slices.Equal(lines, want) {
		t.Errorf("hooks ran in order %v, want %v", lines, want)
	}
}

// Names that differ in case sort as ls sorts them in the C locale, by
// byte: upper case before lower case, whatever a case-blind order says.
func TestListByteOrderIsCaseSensitive(t *testing.T) {
	r, dir, _ := newRunner(t)
	for _, n := range []string{"PostAcqa", "PostAcq10.b", "PostAcqB", "PostAcq10.C", "PostAcqA"} {
		writeHook(t, dir, n, "", 0o755)
	}
	want := []string{"PostAcq10.C", "PostAcq10.b", "PostAcqA", "PostAcqB", "PostAcqa"}
	got, err := r.List(testAddr, PostAcq)
	if err != nil || !slices.Equal(names(got), want) {
		t.Fatalf("List = %v, %v; want %v", names(got), err, want)
	}
	// Run keeps that order too.
	res, err := r.Run(context.Background(), PostAcq, Env{Address: testAddr})
	if err != nil || len(res) != len(want) {
		t.Fatalf("Run = %d results, %v", len(res), err)
	}
	for i, x := range res {
		if x.Name != want[i] {
			t.Errorf("run %d was %s, want %s", i, x.Name, want[i])
		}
	}
}

func TestListSkips(t *testing.T) {
	r, dir, logs := newRunner(t)
	writeHook(t, dir, ".PreAcq1", "", 0o755)
	writeHook(t, dir, "PreAcq2~", "", 0o755)
	writeHook(t, dir, "PreAcq3", "", 0o644) // not executable
	if err := os.Mkdir(filepath.Join(dir, "PreAcq4.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeHook(t, dir, "PreAcq5", "", 0o755)
	writeHook(t, dir, "XPreAcq6", "", 0o755) // stage name not at the start
	target := writeHook(t, t.TempDir(), "target", "", 0o755)
	if err := os.Symlink(target, filepath.Join(dir, "PreAcq7.link")); err != nil {
		t.Fatal(err)
	}

	got, err := r.List(testAddr, PreAcq)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PreAcq5", "PreAcq7.link"}; !slices.Equal(names(got), want) {
		t.Fatalf("List = %v, want %v", names(got), want)
	}
	found := false
	for _, rec := range logs.records(t) {
		if rec["level"] == "WARN" && rec["path"] == filepath.Join(dir, "PreAcq3") &&
			strings.Contains(rec["msg"].(string), "not executable") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about the non-executable PreAcq3 in the log")
	}
}

// A Test that is there but cannot run is not skipped: it is the veto.
func TestNonExecutableTestIsAnError(t *testing.T) {
	r, dir, _ := newRunner(t)
	writeHook(t, dir, "Test", "exit 1", 0o644)
	_, err := r.List(testAddr, Test)
	if err == nil || !strings.Contains(err.Error(), "not executable") || !strings.Contains(err.Error(), "chmod 755") {
		t.Fatalf("List(Test) = %v", err)
	}
	if res, err := r.Run(context.Background(), Test, Env{Address: testAddr}); err == nil || len(res) != 0 {
		t.Fatalf("Run(Test) = %v, %v", res, err)
	}
}

func TestListTestExactName(t *testing.T) {
	r, dir, _ := newRunner(t)
	for _, n := range []string{"Test1", "Tests", "Test.disabled", "Test~", ".Test"} {
		writeHook(t, dir, n, "", 0o755)
	}
	got, err := r.List(testAddr, Test)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("List(Test) without a Test file = %v, want none", names(got))
	}
	writeHook(t, dir, "Test", "", 0o755)
	got, err = r.List(testAddr, Test)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(got), []string{"Test"}) {
		t.Fatalf("List(Test) = %v, want [Test]", names(got))
	}
}

func TestMissingFolderMeansNoHooks(t *testing.T) {
	for _, dir := range []string{filepath.Join(t.TempDir(), "absent"), t.TempDir()} {
		r := &Runner{Dir: dir, RequireSafe: true}
		got, err := r.List(testAddr, PreAcq)
		if err != nil || got != nil {
			t.Errorf("List in %s = %v, %v; want no hooks, no error", dir, got, err)
		}
		res, err := r.Run(context.Background(), PostRel, Env{Address: testAddr})
		if err != nil || len(res) != 0 {
			t.Errorf("Run in %s = %v, %v; want no results, no error", dir, res, err)
		}
	}
}

func TestListRejectsBadInput(t *testing.T) {
	r, _, _ := newRunner(t)
	if _, err := r.List(testAddr, Stage("PreAck")); err == nil {
		t.Error("List with an unknown stage: no error")
	}
	if _, err := r.List(netip.Addr{}, PreAcq); err == nil {
		t.Error("List with no address: no error")
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Setenv("HOME", "/root-leak")
	t.Setenv("IPFAILOVER_LEAK", "1")
	r, dir, _ := newRunner(t)
	r.Path = "/usr/bin:/bin"
	// Relative paths: the working directory must be the address folder.
	writeHook(t, dir, "PostAcq", `env > env.out
readlink /proc/$$/fd/0 > stdin.out 2>/dev/null || true`, 0o755)
	env := Env{
		Action:    "acquire",
		Address:   testAddr,
		Interface: "eth0",
		PeerIP:    netip.MustParseAddr("198.51.100.1"),
		Reason:    "no heartbeat on any link",
	}
	res, err := r.Run(context.Background(), PostAcq, env)
	if err != nil || len(res) != 1 || !res[0].OK() {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "env.out"))
	if err != nil {
		t.Fatalf("the hook did not write env.out in its address folder: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	// dash exports PWD itself; it must be the address folder.
	want := []string{
		"FAILOVER_ACTION=acquire",
		"FAILOVER_ADDRESS=192.0.2.10",
		"FAILOVER_INTERFACE=eth0",
		"FAILOVER_PEER_IP=198.51.100.1",
		"FAILOVER_REASON=no heartbeat on any link",
		"FAILOVER_STAGE=PostAcq",
		"PATH=/usr/bin:/bin",
	}
	got = slices.DeleteFunc(got, func(s string) bool {
		pwd, ok := strings.CutPrefix(s, "PWD=")
		if ok && pwd != dir {
			t.Errorf("PWD=%s, want the address folder %s", pwd, dir)
		}
		return ok
	})
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("hook environment:\n%s\nwant exactly:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(filepath.Join(dir, "stdin.out"))
		if err != nil || strings.TrimSpace(string(b)) != "/dev/null" {
			t.Errorf("hook's stdin is %q (%v), want /dev/null", b, err)
		}
	}
}

func TestHookEnvDefaults(t *testing.T) {
	r := &Runner{}
	got := r.hookEnv(PreRel, Env{Address: testAddr})
	want := []string{
		"PATH=" + DefaultPath,
		"FAILOVER_STAGE=PreRel",
		"FAILOVER_ACTION=",
		"FAILOVER_ADDRESS=192.0.2.10",
		"FAILOVER_INTERFACE=",
		"FAILOVER_PEER_IP=",
		"FAILOVER_REASON=",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hookEnv = %q, want %q", got, want)
	}
}

// processGone reports whether pid has exited; a zombie that its new
// parent has not reaped yet counts as gone.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist) && runtime.GOOS == "linux"
	}
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	return len(f) > 0 && (string(f[0]) == "Z" || string(f[0]) == "X")
}

// waitGone fails the test unless pid is gone within a short while (a
// signal is delivered asynchronously).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !processGone(pid); {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d that the hook forked is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the hook did not write its child's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	r, dir, logs := newRunner(t)
	// Long enough for the shell to have started its child on a busy
	// machine (at 300 ms, under a load of 5, it had not once in a few
	// runs, and the test found no pid to check).
	r.Timeout = 2 * time.Second
	// The child inherits stdout and outlives the hook unless the whole
	// group is killed: without that, Run would wait for it.
	writeHook(t, dir, "PreAcq10", `sleep 30 &
echo $! > child.pid
echo started
sleep 30`, 0o755)
	writeHook(t, dir, "PreAcq20", `echo next`, 0o755)

	start := time.Now()
	res, err := r.Run(context.Background(), PreAcq, Env{Address: testAddr})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	pid := readPid(t, filepath.Join(dir, "child.pid"))
	waitGone(t, pid)
	if elapsed > r.Timeout+time.Second {
		t.Errorf("Run took %v with a %v timeout", elapsed, r.Timeout)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2 (a timeout does not stop the stage)", len(res))
	}
	h := res[0]
	if !h.TimedOut || h.Exit != -1 || !errors.Is(h.Err, ErrTimeout) || h.OK() {
		t.Errorf("timed-out hook: %+v", h)
	}
	if h.Duration < r.Timeout || h.Duration > r.Timeout+time.Second {
		t.Errorf("timed-out hook's duration %v, timeout %v", h.Duration, r.Timeout)
	}
	if !res[1].OK() {
		t.Errorf("hook after the timed-out one: %+v", res[1])
	}
	var sawStarted, sawWarn bool
	for _, rec := range logs.records(t) {
		if rec["hook"] == "PreAcq10" && rec["line"] == "started" {
			sawStarted = true
		}
		if rec["hook"] == "PreAcq10" && rec["msg"] == "hook finished" && rec["level"] == "WARN" && rec["timed_out"] == true {
			sawWarn = true
		}
	}
	if !sawStarted || !sawWarn {
		t.Errorf("log lacks the hook's output (%v) or a warning of its timeout (%v)", sawStarted, sawWarn)
	}
}

func TestTimeoutEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	r, dir, _ := newRunner(t)
	r.Timeout = 200 * time.Millisecond
	r.grace = 300 * time.Millisecond
	// A child that ignores SIGTERM (sleep inherits the ignored signal) and
	// has let go of stdout, so only the SIGKILL after the grace stops it.
	writeHook(t, dir, "PostRel", `(trap '' TERM; exec sleep 30 >/dev/null 2>&1) &
echo $! > child.pid
sleep 30`, 0o755)

	start := time.Now()
	res, err := r.Run(context.Background(), PostRel, Env{Address: testAddr})
	elapsed := time.Since(start)
	if err != nil || len(res) != 1 || !res[0].TimedOut {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	waitGone(t, readPid(t, filepath.Join(dir, "child.pid")))
	if min := r.Timeout + r.grace; elapsed < min || elapsed > min+time.Second {
		t.Errorf("Run took %v, want about timeout+grace = %v", elapsed, min)
	}
}

func TestContextCancelStopsStage(t *testing.T) {
	t.Parallel()
	r, dir, _ := newRunner(t)
	writeHook(t, dir, "PreRel1", `sleep 30`, 0o755)
	writeHook(t, dir, "PreRel2", `touch ran`, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := r.Run(ctx, PreRel, Env{Address: testAddr})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run error = %v, want the context's", err)
	}
	if len(res) != 1 || res[0].TimedOut || res[0].Err == nil || res[0].Exit != -1 {
		t.Errorf("results = %+v, want the one killed hook, not marked as timed out", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("a hook was started after the context ended")
	}
}

func TestOutputLogged(t *testing.T) {
	t.Parallel()
	r, dir, logs := newRunner(t)
	writeHook(t, dir, "PostAcq10.StartApache", `echo "hello out"
echo "to err" >&2
printf 'no newline'`, 0o755)
	if _, err := r.Run(context.Background(), PostAcq, Env{Address: testAddr}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"hello out": "stdout", "to err": "stderr", "no newline": "stdout"}
	var started, finished bool
	for _, rec := range logs.records(t) {
		if rec["hook"] != "PostAcq10.StartApache" || rec["stage"] != "PostAcq" {
			continue
		}
		switch rec["msg"] {
		case "hook output":
			line, _ := rec["line"].(string)
			if stream, ok := want[line]; ok && rec["stream"] == stream && rec["level"] == "INFO" {
				delete(want, line)
			} else {
				t.Errorf("unexpected output record %v", rec)
			}
		case "hook started":
			started = true
		case "hook finished":
			finished = rec["exit"] == float64(0) && rec["level"] == "INFO" && rec["duration"] != nil
		}
	}
	if len(want) > 0 {
		t.Errorf("output lines not logged with the hook's name and stage: %v", want)
	}
	if !started || !finished {
		t.Errorf("start (%v) or end with exit 0 (%v) not logged", started, finished)
	}
}

func TestLineLoggerSplitsLongAndPartialLines(t *testing.T) {
	buf := &syncBuffer{}
	w := &lineLogger{log: slog.New(slog.NewJSONHandler(buf, nil)), stream: "stdout"}
	w.Write([]byte("a\r\nb"))
	w.Write([]byte("c\n"))
	w.Write(bytes.Repeat([]byte("x"), maxLine+5))
	w.flush()
	var lines []string
	for _, rec := range buf.records(t) {
		lines = append(lines, rec["line"].(string))
	}
	want := []string{"a", "bc", strings.Repeat("x", maxLine), "xxxxx"}
	if !slices.Equal(lines, want) {
		t.Errorf("lines = %.40q, want %.40q", lines, want)
	}
}

func TestFailingHookDoesNotStopStage(t *testing.T) {
	t.Parallel()
	r, dir, logs := newRunner(t)
	writeHook(t, dir, "PreRel10", `sleep 0.2; exit 3`, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "PreRel20"), []byte("not a script\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeHook(t, dir, "PreRel30", `exit 0`, 0o755)
	before := time.Now()
	res, err := r.Run(context.Background(), PreRel, Env{Address: testAddr})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results, want 3", len(res))
	}
	if h := res[0]; h.Exit != 3 || h.Err != nil || h.OK() || h.TimedOut {
		t.Errorf("exit 3 hook: %+v", h)
	}
	if h := res[0]; h.Duration < 200*time.Millisecond || h.Duration > 5*time.Second || h.Started.Before(before) {
		t.Errorf("exit 3 hook: started %v (Run at %v), duration %v; it sleeps 0.2 s", h.Started, before, h.Duration)
	}
	if h := res[1]; h.Exit != -1 || h.Err == nil || !strings.Contains(h.Err.Error(), "#!") || h.OK() {
		t.Errorf("hook that cannot start: %+v", h)
	}
	if h := res[2]; !h.OK() || h.Exit != 0 || h.Err != nil || !h.Started.After(res[0].Started) {
		t.Errorf("last hook: %+v", h)
	}
	warned := false
	for _, rec := range logs.records(t) {
		if rec["hook"] == "PreRel10" && rec["msg"] == "hook finished" && rec["level"] == "WARN" && rec["exit"] == float64(3) {
			warned = true
		}
	}
	if !warned {
		t.Error("non-zero exit not logged at WARN with its exit code")
	}
}

func TestLeftoverHoldingOutputDoesNotHangRun(t *testing.T) {
	t.Parallel()
	r, dir, logs := newRunner(t)
	r.grace = 300 * time.Millisecond
	// The hook exits at once but leaves a child holding stdout; that child
	// was started on purpose (a service), so it is not killed, but Run
	// must stop reading after the grace instead of waiting for it.
	writeHook(t, dir, "PostAcq", `sleep 30 &
echo $! > child.pid`, 0o755)
	start := time.Now()
	res, err := r.Run(context.Background(), PostAcq, Env{Address: testAddr})
	elapsed := time.Since(start)
	pid := readPid(t, filepath.Join(dir, "child.pid"))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err != nil || len(res) != 1 || !res[0].OK() {
		t.Fatalf("Run = %+v, %v; want one OK result", res, err)
	}
	if elapsed > r.grace+time.Second {
		t.Errorf("Run took %v; it should stop reading after the %v grace", elapsed, r.grace)
	}
	if processGone(pid) {
		t.Error("the child of a hook that exited normally was killed")
	}
	warned := false
	for _, rec := range logs.records(t) {
		warned = warned || rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "holding its output")
	}
	if !warned {
		t.Error("no warning about the process holding the hook's output")
	}
}

// The output tail a check's notice carries is valid UTF-8 and bounded,
// whatever the hook wrote: it goes into heartbeats and JSON.
func TestTailIsBoundedUTF8(t *testing.T) {
	r, dir, _ := newRunner(t)
	writeHook(t, dir, "PostAcq10.bytes", `printf 'caf\351\n'; head -c 300 /dev/zero | tr '\0' 'x'; printf '\342\202\254%.0s' $(seq 100); echo; for i in 1 2 3 4 5 6; do echo line$i; done`, 0o755)
	res, err := r.Run(context.Background(), PostAcq, Env{Address: testAddr})
	if err != nil || len(res) != 1 {
		t.Fatalf("%v %v", res, err)
	}
	tail := res[0].Tail
	if len(tail) != 5 || tail[4] != "line6" {
		t.Fatalf("tail %q, want the last 5 lines", tail)
	}
	for _, l := range tail {
		if !utf8.ValidString(l) || len(l) > 200+len("…") {
			t.Fatalf("tail line %q", l)
		}
	}
	r2, dir2, _ := newRunner(t)
	writeHook(t, dir2, "PostAcq10.latin1", `printf 'caf\351\n'`, 0o755)
	res, _ = r2.Run(context.Background(), PostAcq, Env{Address: testAddr})
	if len(res) != 1 || len(res[0].Tail) != 1 || !utf8.ValidString(res[0].Tail[0]) || !strings.HasPrefix(res[0].Tail[0], "caf") {
		t.Fatalf("tail of a Latin-1 line: %q", res[0].Tail)
	}
}
