package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wantUnsafe checks that err refuses path, says why and gives the fix.
func wantUnsafe(t *testing.T, err error, path, why, fix string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s refused", path)
	}
	var ue *UnsafeError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v is not an *UnsafeError", err)
	}
	msg := err.Error()
	for _, s := range []string{"refusing " + path + ":", why, "fix: ", fix + " " + path} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestRequireSafeRefusesGroupWritable(t *testing.T) {
	t.Parallel()
	r, dir, _ := newRunner(t)
	r.RequireSafe = true
	chmod(t, r.Dir, 0o755)
	writeHook(t, dir, "PreAcq10", `touch ran10`, 0o755)
	bad := writeHook(t, dir, "PreAcq20", `touch ran20`, 0o775)

	_, err := r.List(testAddr, PreAcq)
	wantUnsafe(t, err, bad, "writable by group", "chmod go-w")
	// Run refuses the whole stage: running half of it is worse.
	res, err := r.Run(context.Background(), PreAcq, Env{Address: testAddr})
	wantUnsafe(t, err, bad, "writable by group", "chmod go-w")
	if len(res) != 0 {
		t.Errorf("Run returned results %+v with an unsafe hook", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran10")); err == nil {
		t.Error("a hook ran although the stage was refused")
	}

	chmod(t, bad, 0o755)
	chmod(t, dir, 0o757)
	_, err = r.List(testAddr, PreAcq)
	wantUnsafe(t, err, dir, "writable by others", "chmod go-w")

	chmod(t, dir, 0o755)
	chmod(t, r.Dir, 0o775)
	_, err = r.List(testAddr, PreAcq)
	wantUnsafe(t, err, r.Dir, "writable by group", "chmod go-w")

	// A non-executable file is not a hook, so its mode does not matter.
	chmod(t, r.Dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "PreAcq30.notes"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: only files owned by root pass the safety check, and as non-root every test file fails it (TestRequireSafeRefusesNonRootOwner covers ownership)")
	}
	got, err := r.List(testAddr, PreAcq)
	if err != nil || len(got) != 2 {
		t.Errorf("List of safe hooks = %v, %v; want both", names(got), err)
	}
}

func TestRequireSafeRefusesNonRootOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root can give a file to another user, and as non-root every test file fails the root-owner check")
	}
	r, dir, _ := newRunner(t)
	r.RequireSafe = true
	chmod(t, r.Dir, 0o755)
	hook := writeHook(t, dir, "PostRel", "", 0o755)
	if err := os.Chown(hook, 65534, 0); err != nil {
		t.Fatal(err)
	}
	_, err := r.List(testAddr, PostRel)
	wantUnsafe(t, err, hook, "owned by uid 65534, not root", "chown root")

	// Through a symlink, the folder of the target counts too.
	if err := os.Chown(hook, 0, 0); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	chmod(t, elsewhere, 0o777)
	target := writeHook(t, elsewhere, "target", "", 0o755)
	if err := os.Symlink(target, filepath.Join(dir, "PostRel2")); err != nil {
		t.Fatal(err)
	}
	_, err = r.List(testAddr, PostRel)
	wantUnsafe(t, err, elsewhere, "writable by group and others", "chmod go-w")
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP": "/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP",
		"/srv/my hooks/it's":                              `'/srv/my hooks/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
