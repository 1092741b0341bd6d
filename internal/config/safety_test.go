package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// safeFolder is a new folder only this user may write to, for a program
// or a key.
func safeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeMode writes a file and gives it mode, whatever the umask.
func writeMode(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantRefused checks that a configuration error names the file and line,
// the key and value, the file refused, why, and the fix.
func wantRefused(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one with %q", want)
	}
	for _, w := range append(want, "fix: ") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

// The notify command and sendmail run as root: a file, or a folder above
// it, that another user could change is a configuration error that names
// the key and the fix, at start and for -n alike, for each daemon that
// sends notices.
func TestNotifyProgramsMustBeSafe(t *testing.T) {
	for _, tc := range []struct {
		key  string
		role Role
	}{{KeyNotifyCommand, Failoverd}, {KeySendmail, Failoverd}, {KeyNotifyCommand, Heartbeatd}, {KeySendmail, Heartbeatd}} {
		if !lookupKey(tc.key).usedBy(tc.role) {
			continue
		}
		key, role := tc.key, tc.role
		args := []string{"192.0.2.255"}
		if role == Failoverd {
			args = []string{"10.0.0.1", "eth0:100.0.0.10"}
		}
		t.Run(role.String()+"/"+key, func(t *testing.T) {
			load := func(prog string) error {
				path := writeFile(t, "# notices\n"+key+"="+prog+"\n")
				_, err := Load(role, Sources{File: path, Args: args})
				// The value is clipped in the message; the refusal names
				// the whole path.
				if err != nil && !strings.Contains(err.Error(), path+":2: "+key+"=") {
					t.Errorf("error does not name %s:2 and %s:\n%v", path, key, err)
				}
				return err
			}
			dir := safeFolder(t)
			prog := writeMode(t, filepath.Join(dir, "prog"), "#!/bin/sh\n", 0o755)
			if err := load(prog); err != nil {
				t.Fatalf("a safe program: %v", err)
			}
			// Missing: no walk to refuse, and -n says it is missing.
			if err := load(filepath.Join(dir, "gone")); err != nil {
				t.Errorf("a missing program in a safe folder: %v", err)
			}

			if err := os.Chmod(prog, 0o775); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(prog), "refusing "+prog+": writable by group (mode -rwxrwxr-x)", "chmod go-w "+prog)
			if err := os.Chmod(prog, 0o755); err != nil {
				t.Fatal(err)
			}

			if err := os.Chmod(dir, 0o757); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(prog), "refusing "+dir+" (on the path to "+prog+"): writable by others", "chmod go-w "+dir)
			// A folder others may write to lets them put a program where
			// a missing one is expected.
			wantRefused(t, load(filepath.Join(dir, "gone")), "refusing "+dir+" (on the path to ")
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}

			if os.Geteuid() != 0 {
				t.Skip("skipped the rest: only root can give a file to another user")
			}
			if err := os.Chown(prog, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(prog), "refusing "+prog+": owned by uid 65534, not root, so a user other than root could change what runs as root", "chown root "+prog)
		})
	}
}

// A key file that another user owns, or could read or replace, is a
// configuration error of both daemons.
func TestKeyFilesMustBeSafe(t *testing.T) {
	for _, role := range []Role{Heartbeatd, Failoverd} {
		t.Run(role.String(), func(t *testing.T) {
			args := []string{"192.0.2.255"}
			if role == Failoverd {
				args = []string{"10.0.0.1", "eth0:100.0.0.10"}
			}
			dir := safeFolder(t)
			good := writeMode(t, filepath.Join(dir, "good"), "0123456789abcdef0123456789abcdef\n", 0o600)
			key := writeMode(t, filepath.Join(dir, "key"), "0123456789abcdef0123456789abcdef\n", 0o600)
			path := writeFile(t, "FAILOVER_AUTH_KEY_FILE=\""+good+" "+key+"\"\n")
			load := func() error {
				_, err := Load(role, Sources{File: path, Args: args})
				if err != nil && !strings.Contains(err.Error(), path+":1: FAILOVER_AUTH_KEY_FILE: ") {
					t.Errorf("error does not name %s:1 and FAILOVER_AUTH_KEY_FILE:\n%v", path, err)
				}
				return err
			}
			if err := load(); err != nil {
				t.Fatalf("safe keys: %v", err)
			}

			if err := os.Chmod(key, 0o604); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(), "refusing "+key+": readable by others (mode -rw----r--)", "chmod go-rwx "+key)
			if err := os.Chmod(key, 0o600); err != nil {
				t.Fatal(err)
			}

			if err := os.Chmod(dir, 0o775); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(), "refusing "+dir+" (on the path to "+good+"): writable by group", "chmod go-w "+dir)
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}

			if os.Geteuid() != 0 {
				t.Skip("skipped the rest: only root can give a file to another user")
			}
			// Mode 0600, so its owner alone can read the key: not root.
			if err := os.Chown(key, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(), "refusing "+key+": owned by uid 65534, not root, so a user other than root could read the secret", "chown root "+key)
		})
	}
}

// The configuration file names the programs the daemons run and the keys
// they trust, so a file that another user could change, or that lies in a
// folder they could change, is refused unread: one error that names the
// file and the fix, for both daemons, at start, for -n and on SIGHUP
// alike (all load it here). Others may read it: it holds no secret.
func TestConfigFileMustBeSafe(t *testing.T) {
	for _, role := range []Role{Heartbeatd, Failoverd} {
		t.Run(role.String(), func(t *testing.T) {
			content := "FAILOVER_BCAST_IPS=192.0.2.255\n"
			if role == Failoverd {
				content = "FAILOVER_PEER_IP=10.0.0.1\nFAILOVER_PEER_IP_PAIRS=eth0:100.0.0.10\n"
			}
			dir := safeFolder(t)
			path := writeMode(t, filepath.Join(dir, "ipfailover"), content, 0o644)
			load := func(src Sources) error {
				_, err := Load(role, src)
				if n := len(Errors(err)); n > 1 {
					t.Errorf("%d errors; a refused file should be the one error (its keys are not reported missing):\n%v", n, err)
				}
				return err
			}
			for _, explicit := range []bool{true, false} {
				if err := load(Sources{File: path, FileExplicit: explicit}); err != nil {
					t.Fatalf("a safe file of mode 0644: %v", err)
				}
			}

			if err := os.Chmod(path, 0o646); err != nil {
				t.Fatal(err)
			}
			for _, explicit := range []bool{true, false} {
				wantRefused(t, load(Sources{File: path, FileExplicit: explicit}),
					"configuration file: refusing "+path+": writable by others (mode -rw-r--rw-), so a user other than root could change the daemon's settings",
					"fix: chmod go-w "+path)
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}

			if err := os.Chmod(dir, 0o775); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(Sources{File: path, FileExplicit: true}), "refusing "+dir+" (on the path to "+path+"): writable by group", "fix: chmod go-w "+dir)
			// A missing default file is allowed, but not where another
			// user could put one.
			gone := filepath.Join(dir, "gone")
			args := []string{"192.0.2.255"}
			if role == Failoverd {
				args = []string{"10.0.0.1", "eth0:100.0.0.10"}
			}
			wantRefused(t, load(Sources{File: gone, Args: args}), "refusing "+dir+" (on the path to "+gone+"): writable by group")
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := load(Sources{File: gone, Args: args}); err != nil {
				t.Errorf("a missing default file in a safe folder: %v", err)
			}

			// In a folder anyone may write to but sticky, as /tmp, the
			// file's owner decides.
			sticky := filepath.Join(dir, "tmp")
			if err := os.Mkdir(sticky, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			inSticky := writeMode(t, filepath.Join(sticky, "ipfailover"), content, 0o644)
			if err := load(Sources{File: inSticky, FileExplicit: true}); err != nil {
				t.Errorf("this user's file in a sticky folder: %v", err)
			}

			if os.Geteuid() != 0 {
				t.Skip("skipped the rest: only root can give a file to another user")
			}
			for _, p := range []string{path, inSticky} {
				if err := os.Chown(p, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			wantRefused(t, load(Sources{File: path, FileExplicit: true}), "refusing "+path+": owned by uid 65534, not root", "fix: chown root "+path)
			wantRefused(t, load(Sources{File: inSticky, FileExplicit: true}), "refusing "+inSticky+": owned by uid 65534 in "+sticky)
		})
	}
}

// The folder of failoverd's control socket and of heartbeatd's lock
// socket must be one only root (or the daemon's user) can write to: a
// user who could write there could listen first, or remove the socket so
// that a second daemon starts beside the first. Another is a
// configuration error that names the file, line and key, the folder and
// the fix, at start and for -n alike; a folder still to be made is fine
// under a safe one.
func TestSocketFoldersMustBeSafe(t *testing.T) {
	for _, tc := range []struct {
		key  string
		role Role
		args []string
	}{{KeyControlSocket, Failoverd, []string{"10.0.0.1", "eth0:100.0.0.10"}}, {KeyLockSocket, Heartbeatd, []string{"192.0.2.255"}}} {
		t.Run(tc.role.String(), func(t *testing.T) {
			load := func(sock string) error {
				path := writeFile(t, "# the socket\n"+tc.key+"="+sock+"\n")
				_, err := Load(tc.role, Sources{File: path, Args: tc.args})
				if err != nil && !strings.Contains(err.Error(), path+":2: "+tc.key+"=") {
					t.Errorf("error does not name %s:2 and %s:\n%v", path, tc.key, err)
				}
				return err
			}
			dir := safeFolder(t)
			for _, sock := range []string{filepath.Join(dir, "d.sock"), filepath.Join(dir, "run", "d.sock")} {
				if err := load(sock); err != nil {
					t.Errorf("%s: %v", sock, err)
				}
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(filepath.Join(dir, "d.sock")), "refusing "+dir+": writable by group and others (mode drwxrwxrwx), so a user other than root", "chmod go-w "+dir)
			wantRefused(t, load(filepath.Join(dir, "run", "d.sock")), "refusing "+dir+" (on the path to "+filepath.Join(dir, "run")+")")
			if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(filepath.Join(dir, "d.sock")), "refusing "+dir+": writable by group and others", "move the socket to a folder only root can write to")
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() != 0 {
				t.Skip("skipped the rest: only root can give a folder to another user")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, load(filepath.Join(dir, "d.sock")), "refusing "+dir+": owned by uid 65534, not root", "chown root "+dir)
		})
	}
}
