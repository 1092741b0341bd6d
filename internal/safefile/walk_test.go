package safefile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The walk itself (folders above, symbolic links, sticky folders) is
// tested through its first user, the hooks (internal/hooks/safe_test.go);
// these tests cover what the other policies add.

// wantUnsafe checks that err refuses path, says why and gives the fix.
func wantUnsafe(t *testing.T, err error, path, why, fix string) {
	t.Helper()
	ue, ok := errors.AsType[*UnsafeError](err)
	if !ok {
		t.Fatalf("error %v is not an *UnsafeError; want %s refused", err, path)
	}
	if ue.Path != path {
		t.Errorf("refuses %s, want %s: %v", ue.Path, path, err)
	}
	for _, s := range []string{why, "fix: " + fix} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

// file writes a file of mode in a new folder that only this user may
// write to.
func file(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("a secret of sixteen bytes or more\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// A secret may not be read by group or others; writable by them is
// refused with the same fix.
func TestSecretMayNotBeReadByOthers(t *testing.T) {
	p := Policy{Owner: Self(), Private: true, What: "the secret", Risk: "it leaks"}
	if err := p.Check(file(t, 0o600)); err != nil {
		t.Errorf("mode 0600: %v", err)
	}
	for mode, why := range map[os.FileMode]string{
		0o640: "readable by group (mode -rw-r-----)",
		0o604: "readable by others (mode -rw----r--)",
		0o644: "readable by group and others (mode -rw-r--r--)",
		0o620: "writable by group (mode -rw--w----)",
		0o666: "writable by group and others and readable by group and others (mode -rw-rw-rw-)",
		0o610: "executable by group (mode -rw---x---)",
	} {
		path := file(t, mode)
		wantUnsafe(t, p.Check(path), path, why, "chmod go-rwx "+path)
	}
	// Only the file holds the secret: a folder above may be read.
	if err := (Policy{Owner: Self()}).Check(file(t, 0o644)); err != nil {
		t.Errorf("not private, mode 0644: %v", err)
	}
}

// The user the daemon runs as may own its files as well as root; any
// other owner is refused, with the daemon's user in the fix.
func TestOwnerIsTrustedBesidesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root can give a file to another user")
	}
	path := file(t, 0o600)
	for _, p := range []string{path, filepath.Dir(path)} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	p := Policy{Owner: 65534, Private: true, What: "the secret", Risk: "it leaks"}
	if err := p.Check(path); err != nil {
		t.Errorf("owned by the trusted uid: %v", err)
	}
	if err := os.Chown(path, 65533, 65533); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, p.Check(path), path, "owned by uid 65533, not root or uid 65534, so it leaks", "chown 65534 "+path)
	// Root alone: the folder is refused first, on the way to the file.
	err := Policy{Risk: "it leaks"}.Check(path)
	wantUnsafe(t, err, filepath.Dir(path), "owned by uid 65534, not root", "chown root "+filepath.Dir(path))
	if !strings.Contains(err.Error(), "(on the path to "+path+")") {
		t.Errorf("error %q does not say what the folder is on the path to", err)
	}
}

// Programs and secrets trust root and the user this process runs as.
func TestProgramAndSecretTrustThisUser(t *testing.T) {
	for _, p := range []Policy{Program(), Secret()} {
		if p.Owner != Self() || !p.trusts(0) || !p.trusts(uint32(max(os.Geteuid(), 0))) {
			t.Errorf("%+v does not trust root and uid %d", p, os.Geteuid())
		}
	}
	if !Secret().Private || Program().Private {
		t.Error("only a secret is private")
	}
	if os.Geteuid() == 0 && (Program().Risk != "a user other than root could change what runs as root" || Program().Owner != 0) {
		t.Errorf("as root, Program() = %+v", Program())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP": "/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP",
		"/srv/my hooks/it's":                              `'/srv/my hooks/it'\''s'`,
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// Visible shows what does not print as itself in Go's escapes, and only
// that.
func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP": "/Library/IPFailover/192.0.2.10/PreAcq10.StopDIP",
		"/srv/my hooks/it's é":                            "/srv/my hooks/it's é",
		"PreAcq10\x1b[1A\x1b[2K\rOK":                      `PreAcq10\x1b[1A\x1b[2K\rOK`,
		"a\nb\tc\x7fd\u009be\u202ef\xffg":                 `a\nb\tc\x7fd\u009be\u202ef\xffg`,
	} {
		if got := Visible(in); got != want {
			t.Errorf("Visible(%q) = %s, want %s", in, got, want)
		}
	}
}

// A quoted path, pasted into a shell, is the path again, whatever bytes
// it holds, and shows no control character.
func TestShellQuoteIsThePathInAShell(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to paste into")
	}
	for _, path := range []string{
		"/srv/hooks/PreAcq10.StopDIP",
		"/srv/my hooks/it's",
		`/srv/back\slash/$HOME/"x"`,
		"/srv/PreAcq10\x1b[1A\x1b[2K\rOK      hooks look fine\x1b[K",
		"/srv/it's\nnew\tline\x7f\u009b\u202e é \xff\xfe\\'",
		"/srv/\x01a\x1bA\x1b0", // hex digits after an escape
	} {
		q := ShellQuote(path)
		if v := Visible(q); v != q {
			t.Errorf("ShellQuote(%q) = %q, which shows control characters", path, q)
		}
		out, err := exec.Command(bash, "-c", "printf %s "+q).Output()
		if err != nil || string(out) != path {
			t.Errorf("bash reads ShellQuote(%q) = %s as %q (%v)", path, q, out, err)
		}
	}
}
