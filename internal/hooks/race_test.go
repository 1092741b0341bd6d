//go:build unix

package hooks

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the uid (and gid) of the unprivileged user in these tests.
const nobody = 65534

// asNobody runs a shell command as uid and gid 65534, so that the kernel,
// not the test, decides what that user may rename and create.
func asNobody(t *testing.T, dir, script string) error {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New(strings.TrimSpace(string(out)) + ": " + err.Error())
	}
	return nil
}

func waitFile(t *testing.T, path string, done <-chan struct{}) bool {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		select {
		case <-done:
			return false
		case <-deadline:
			t.Fatalf("%s did not appear", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// The attack of the issue: the hook folder is root's and safe, but a
// folder above it belongs to nobody, who renames the hook folder while a
// slow PreAcq runs and puts one of their own in its place with a later
// PreAcq. That hook must never run as root.
func TestSwapBelowAnUnprivilegedFolderDoesNotRunAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the race is about what failoverd runs as root, and only root can give a folder to uid 65534")
	}
	base, err := os.MkdirTemp("", "hookrace")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	chmod(t, base, 0o755)
	attic := filepath.Join(base, "attic")
	if err := os.Mkdir(attic, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(attic, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := asNobody(t, attic, "test -w ."); err != nil {
		t.Skipf("uid %d cannot reach %s (%v): the test needs a temporary folder every user can pass through, as /tmp", nobody, attic, err)
	}
	hookDir := filepath.Join(attic, "hooks")
	folder := filepath.Join(hookDir, testAddr.String())
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, hookDir, 0o755)
	chmod(t, folder, 0o755)
	started, release := filepath.Join(base, "started"), filepath.Join(base, "release")
	writeHook(t, folder, "PreAcq1", "touch "+started+"; while [ ! -e "+release+" ]; do sleep 0.05; done", 0o755)
	writeHook(t, folder, "PreAcq2", "true", 0o755)

	r := &Runner{Dir: hookDir, Timeout: 20 * time.Second, RequireSafe: true}
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		_, runErr = r.Run(context.Background(), PreAcq, Env{Address: testAddr})
	}()
	if waitFile(t, started, done) {
		// PreAcq1 runs: swap the folder as nobody, then let it end.
		evil := filepath.Join(attic, "evil")
		swap := "mv hooks hooks.old && mkdir -p hooks/" + testAddr.String() + " && cd hooks/" + testAddr.String() +
			" && printf '#!/bin/sh\\nid -u > " + evil + "\\n' > PreAcq2 && chmod 755 PreAcq2"
		if err := asNobody(t, attic, swap); err != nil {
			t.Fatalf("uid %d could not swap the hook folder: %v", nobody, err)
		}
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if uid, err := os.ReadFile(filepath.Join(attic, "evil")); err == nil {
		t.Fatalf("the hook uid %d swapped in ran, as uid %s", nobody, strings.TrimSpace(string(uid)))
	}
	// The folder above is why: it is refused before any hook runs.
	wantUnsafe(t, runErr, attic, "owned by uid 65534, not root", "chown root")
	if !strings.Contains(runErr.Error(), "on the path to "+hookDir) {
		t.Errorf("error %q does not say the refused folder is on the path to the hook folder", runErr)
	}
}

// The check is repeated before each hook, so a folder that is replaced
// while a stage runs (here by root, the only one who can once every
// folder on the way is safe) has none of its hooks run.
func TestFolderReplacedDuringAStageRunsNoneOfItsHooks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: as non-root every test file fails the root-owner check")
	}
	r, dir, _ := newRunner(t)
	r.RequireSafe = true
	chmod(t, r.Dir, 0o755)
	base := t.TempDir()
	started, release, ran := filepath.Join(base, "started"), filepath.Join(base, "release"), filepath.Join(base, "ran")
	writeHook(t, dir, "PreAcq1", "touch "+started+"; while [ ! -e "+release+" ]; do sleep 0.05; done", 0o755)
	writeHook(t, dir, "PreAcq2", "echo checked >> "+ran, 0o755)

	done := make(chan struct{})
	var res []Result
	var runErr error
	go func() {
		defer close(done)
		res, runErr = r.Run(context.Background(), PreAcq, Env{Address: testAddr})
	}()
	if !waitFile(t, started, done) {
		t.Fatalf("PreAcq1 did not start: %v", runErr)
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, dir, 0o755)
	writeHook(t, dir, "PreAcq2", "echo swapped >> "+ran, 0o755)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-done
	if b, err := os.ReadFile(ran); err == nil {
		t.Errorf("after the folder was replaced, a PreAcq2 ran: %q", b)
	}
	if len(res) != 1 || res[0].Name != "PreAcq1" {
		t.Errorf("results %+v; want PreAcq1's alone", res)
	}
	if runErr == nil || !strings.Contains(runErr.Error(), dir+" was replaced") {
		t.Errorf("Run error %v; want it to say the folder was replaced", runErr)
	}
}
