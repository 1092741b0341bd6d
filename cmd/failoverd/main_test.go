package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

func TestMain(m *testing.M) {
	if os.Getenv("IPFO_RUN_FAILOVERD") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func runFailoverd(t *testing.T, ns *lab.NS, args ...string) (string, int) {
	t.Helper()
	return runFailoverdWith(t, ns, "", args...)
}

// runFailoverdWith runs failoverd with a configuration file that holds
// config.
func runFailoverdWith(t *testing.T, ns *lab.NS, config string, args ...string) (string, int) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return runFailoverdOn(t, ns, cfg, args...)
}

// runFailoverdOn runs failoverd with the configuration file cfg.
func runFailoverdOn(t *testing.T, ns *lab.NS, cfg string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--config", cfg}, args...)
	if ns != nil {
		d := ns.Start("env", append([]string{"IPFO_RUN_FAILOVERD=1", exe}, args...)...)
		code := d.Wait(20 * time.Second)
		return d.Output(), code
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "IPFO_RUN_FAILOVERD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestUsageErrors(t *testing.T) {
	out, code := runFailoverd(t, nil, "-n", "10.0.0.1")
	if code != 78 || !strings.Contains(out, "master_priv_addr given without any interface:pub_addr") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, code = runFailoverd(t, nil, "--bogus")
	if code != 64 || !strings.Contains(out, "usage: failoverd") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, code = runFailoverd(t, nil, "-v")
	if code != 0 || !strings.HasPrefix(out, "failoverd ") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// failoverd -n against real interfaces in a namespace: the private
// address must be on a connected subnet, the mask follow the original's
// rule, the interface exist.
func TestCheckModeInNamespace(t *testing.T) {
	l := lab.New(t)
	s1, s2 := l.Netns("s1"), l.Netns("s2")
	l.Veth(s1, "priv0", s2, "priv0")
	l.Veth(s1, "pub0", s2, "pub0")
	s2.Addr("priv0", "192.0.2.2/24")
	s2.Addr("pub0", "198.51.100.2/24")

	// A sendmail that exists, whether or not this host has one.
	sendmail := filepath.Join(t.TempDir(), "sendmail")
	if err := os.WriteFile(sendmail, []byte("#!/bin/sh\ncat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := "FAILOVER_SENDMAIL=" + sendmail + "\n"
	out, code := runFailoverdWith(t, s2, good, "-n", "192.0.2.1", "pub0:198.51.100.1", "pub0:203.0.113.10/24")
	if code != 0 || !strings.Contains(out, "FAILOVER_PEER_IP=192.0.2.1: on the directly connected subnet of priv0 (192.0.2.2/24): the private link") {
		t.Errorf("good configuration: exit %d\n%s", code, out)
	}
	// Mail is how notices reach the administrator: a sendmail that is not
	// there is an error, and -n says what to do.
	out, code = runFailoverdWith(t, s2, "FAILOVER_SENDMAIL=/nonexistent/sendmail\n", "-n", "192.0.2.1", "pub0:198.51.100.1")
	if code != 78 || !strings.Contains(out, "FAILOVER_SENDMAIL=/nonexistent/sendmail: no such file, so no notice would be mailed; install a mail transfer agent") {
		t.Errorf("no sendmail: exit %d, want 78\n%s", code, out)
	}
	out, code = runFailoverd(t, s2, "-n", "203.0.113.1", "pub0:198.51.100.1/24", "eth0:198.51.100.3")
	if code != 78 {
		t.Errorf("bad configuration: exit %d, want 78\n%s", code, out)
	}
	for _, want := range []string{
		"FAILOVER_PEER_IP=203.0.113.1: not on any directly connected subnet",
		"FAILOVER_PEER_IP_PAIRS=pub0:198.51.100.1/24: 198.51.100.1 is on pub0's own subnet 198.51.100.0/24, so the mask must be blank or /32; write pub0:198.51.100.1",
		"FAILOVER_PEER_IP_PAIRS=eth0:198.51.100.3: no interface named eth0; this host has lo, priv0, pub0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A hook folder that is a file: no Test could run, so every
	// takeover would be vetoed.
	hookFile := filepath.Join(t.TempDir(), "hooks")
	if err := os.WriteFile(hookFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runFailoverd(t, s2, "-n", "--hook-dir", hookFile, "192.0.2.1", "pub0:198.51.100.1")
	if want := "FAILOVER_HOOK_DIR=" + hookFile + ": " + hookFile + " is not a folder"; code != 78 || !strings.Contains(out, "error   command line") || !strings.Contains(out, want) {
		t.Errorf("hook folder that is a file: exit %d, want 78 and an error with %q:\n%s", code, want, out)
	}

	// An address folder others may write to is an error; a Test.fence
	// left where only Test runs, a warning.
	hookDir := t.TempDir()
	folder := filepath.Join(hookDir, "198.51.100.1")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "Test.fence"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for d, mode := range map[string]os.FileMode{hookDir: 0o755, folder: 0o775} {
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	out, code = runFailoverd(t, s2, "-n", "--hook-dir", hookDir, "192.0.2.1", "pub0:198.51.100.1")
	for _, want := range []string{
		"error   command line (--hook-dir): FAILOVER_HOOK_DIR=" + hookDir + ": refusing " + folder + ": writable by group",
		"warning command line (--hook-dir): FAILOVER_HOOK_DIR=" + hookDir + ": " + folder + "/Test.fence will not run",
		"rename it to Test to use it",
	} {
		if code != 78 || !strings.Contains(out, want) {
			t.Errorf("unsafe hook folder with a Test.fence: exit %d, want 78 and %q:\n%s", code, want, out)
		}
	}
}

// failoverd -n refuses a notify command or sendmail that a user other
// than root could change, since failoverd runs them as root: exit 78, the
// file, line and key, and the fix. Not a namespace: it fails in loading.
func TestCheckModeRefusesUnsafeNotifyPrograms(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "notify")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\ncat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		dir, prog os.FileMode
		why, fix  string
	}{
		{0o755, 0o775, "refusing " + prog + ": writable by group", "fix: chmod go-w " + prog},
		{0o777, 0o755, "refusing " + dir + " (on the path to " + prog + "): writable by group and others", "fix: chmod go-w " + dir},
	} {
		if err := os.Chmod(dir, mode.dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(prog, mode.prog); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"FAILOVER_NOTIFY_COMMAND", "FAILOVER_SENDMAIL"} {
			out, code := runFailoverdWith(t, nil, "\n"+key+"="+prog+"\n", "-n", "192.0.2.1", "pub0:198.51.100.1")
			if want := ":2: " + key + "=" + prog + ": " + mode.why; code != 78 || !strings.Contains(out, want) || !strings.Contains(out, mode.fix) {
				t.Errorf("%s in mode %04o under a folder in mode %04o: exit %d, want 78 and %q, %q:\n%s", key, mode.prog, mode.dir, code, want, mode.fix, out)
			}
			if strings.Contains(out, "# checks against") {
				t.Errorf("%s: refused by -n's checks, not in loading the configuration, which failoverd does at start too:\n%s", key, out)
			}
		}
	}
}

// failoverd -n refuses a configuration file that a user other than root
// could change, since its keys name the hooks, programs and keys
// failoverd runs and trusts as root: exit 78, the file and the fix, in
// loading (as at start), before any check. Not a namespace.
func TestCheckModeRefusesAConfigFileOthersMayWrite(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(cfg, []byte("FAILOVER_PEER_IP=192.0.2.1\nFAILOVER_PEER_IP_PAIRS=pub0:198.51.100.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg, 0o646); err != nil {
		t.Fatal(err)
	}
	out, code := runFailoverdOn(t, nil, cfg, "-n")
	for _, want := range []string{"failoverd: configuration file: refusing " + cfg + ": writable by others (mode -rw-r--rw-)", "fix: chmod go-w " + cfg} {
		if code != 78 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want 78 and %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "# checks against") || strings.Contains(out, "not set") {
		t.Errorf("the refused file was read:\n%s", out)
	}
}
