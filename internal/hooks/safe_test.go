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
	if !strings.Contains(msg, "refusing "+path+":") && !strings.Contains(msg, "refusing "+path+" (on the path to ") {
		t.Errorf("error %q does not refuse %s", msg, path)
	}
	for _, s := range []string{why, "fix: ", fix + " " + path} {
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

// Whoever can rename a folder above the hook folder can put another
// folder in its place: every folder up to / counts.
func TestRequireSafeChecksTheFoldersAbove(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	base := t.TempDir()
	above := filepath.Join(base, "above")
	r := &Runner{Dir: filepath.Join(above, "hooks"), RequireSafe: true}
	dir := r.Folder(testAddr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{base, above, r.Dir, dir} {
		chmod(t, d, 0o755)
	}
	writeHook(t, dir, "PreAcq", "", 0o755)
	if got, err := r.List(testAddr, PreAcq); err != nil || len(got) != 1 {
		t.Fatalf("List with every folder safe = %v, %v", got, err)
	}

	chmod(t, above, 0o775)
	_, err := r.List(testAddr, PreAcq)
	wantUnsafe(t, err, above, "writable by group", "chmod go-w")
	if !strings.Contains(err.Error(), "on the path to "+r.Dir) {
		t.Errorf("error %q does not say what the folder is on the path to", err)
	}
	chmod(t, above, 0o755)
	if err := os.Chown(above, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = r.List(testAddr, PreAcq)
	wantUnsafe(t, err, above, "owned by uid 65534, not root", "chown root")
	if err := os.Chown(above, 0, 0); err != nil {
		t.Fatal(err)
	}

	// A symbolic link on the way is followed, and the folders it leads
	// through count as well.
	elsewhere := filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(filepath.Join(elsewhere, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, elsewhere, 0o777)
	chmod(t, filepath.Join(elsewhere, "real"), 0o755)
	writeHook(t, filepath.Join(elsewhere, "real"), "PreAcq", "", 0o755)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../elsewhere/real", dir); err != nil {
		t.Fatal(err)
	}
	_, err = r.List(testAddr, PreAcq)
	wantUnsafe(t, err, elsewhere, "writable by group and others", "chmod go-w")
	chmod(t, elsewhere, 0o755)
	if got, err := r.List(testAddr, PreAcq); err != nil || len(got) != 1 {
		t.Errorf("List through a safe symbolic link = %v, %v", got, err)
	}
}

// A sticky folder such as /tmp stays writable by everyone, and that is
// safe for what root owns in it: nobody else can rename or remove it.
// What another user owns there they can replace; the fix is never to
// take /tmp's write bits away.
func TestRequireSafeStickyFolders(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	r, dir, _ := newRunner(t)
	r.RequireSafe = true
	chmod(t, r.Dir, 0o755)
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, filepath.Dir(tmp), 0o755)
	chmod(t, tmp, 0o777|os.ModeSticky)
	target := writeHook(t, tmp, "hook", "", 0o755)
	if err := os.Symlink(target, filepath.Join(dir, "PostAcq")); err != nil {
		t.Fatal(err)
	}
	if got, err := r.List(testAddr, PostAcq); err != nil || len(got) != 1 {
		t.Errorf("a root-owned hook in a sticky folder: List = %v, %v; want it", got, err)
	}

	noTmpFix := func(err error) {
		t.Helper()
		if err != nil && strings.Contains(err.Error(), "chmod go-w "+tmp) {
			t.Errorf("error %q suggests taking the write bits of a shared sticky folder", err)
		}
	}
	if err := os.Chown(target, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := r.List(testAddr, PostAcq)
	wantUnsafe(t, err, target, "owned by uid 65534", "chown root")
	noTmpFix(err)
	if !strings.Contains(err.Error(), "move it to a folder only root can write to") {
		t.Errorf("error %q does not suggest moving the hook", err)
	}

	// A folder of another user in the sticky folder: it is the culprit.
	if err := os.Chown(target, 0, 0); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(tmp, "users")
	if err := os.Mkdir(users, 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, users, 0o755)
	if err := os.Chown(users, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	inUsers := writeHook(t, users, "hook", "", 0o755)
	if err := os.Symlink(inUsers, filepath.Join(dir, "PostAcq2")); err != nil {
		t.Fatal(err)
	}
	_, err = r.List(testAddr, PostAcq)
	wantUnsafe(t, err, users, "owned by uid 65534", "chown root")
	noTmpFix(err)

	// The hook folder itself may not be a shared folder: anyone could
	// add a hook to it.
	r.Dir = tmp
	if err := os.Mkdir(r.Folder(testAddr), 0o755); err != nil {
		t.Fatal(err)
	}
	chmod(t, r.Folder(testAddr), 0o755)
	_, err = r.List(testAddr, PostAcq)
	if err == nil || !strings.Contains(err.Error(), "refusing "+tmp+": ") || !strings.Contains(err.Error(), "move the hooks to a folder only root can write to") {
		t.Errorf("a sticky hook folder: error %v", err)
	}
	noTmpFix(err)
}
