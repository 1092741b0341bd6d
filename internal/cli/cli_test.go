package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ipfailover/ipfailover/internal/config"
)

// -h shows, for each flag that overrides a key, the key and its default
// as the configuration's key table has them.
func TestHelpShowsTheKeysDefaults(t *testing.T) {
	for _, role := range []config.Role{config.Heartbeatd, config.Failoverd} {
		var out, errs bytes.Buffer
		if inv, code := Parse(role, []string{"-h"}, &out, &errs); inv != nil || code != ExitOK {
			t.Fatalf("%s -h: exit %d, %s", role, code, errs.String())
		}
		help := out.String()
		keys := pflag.NewFlagSet("keys", pflag.ContinueOnError)
		config.BindFlags(keys, role)
		n := 0
		keys.VisitAll(func(f *pflag.Flag) {
			n++
			var line string
			for _, l := range strings.Split(help, "\n") {
				if strings.Contains(l, "--"+f.Name+" ") {
					line = l
				}
			}
			if line == "" || !strings.HasSuffix(line, f.Usage) {
				t.Errorf("%s -h: --%s reads %q, want it to end with %q", role, f.Name, line, f.Usage)
			}
		})
		if n == 0 {
			t.Errorf("%s binds no flag to a key", role)
		}
		for _, want := range []string{"--port string", "FAILOVER_PORT; default " + config.Default(role, config.KeyPort) + ")"} {
			if !strings.Contains(help, want) {
				t.Errorf("%s -h does not say %q:\n%s", role, want, help)
			}
		}
	}
}

// A --config file that is not there is the one error said: the keys it
// would have set are not reported as well.
func TestMissingConfigFileIsTheOnlyError(t *testing.T) {
	var errs bytes.Buffer
	missing := filepath.Join(t.TempDir(), "nonexistent")
	inv := &Invocation{Role: config.Failoverd, Sources: config.Sources{File: missing, FileExplicit: true}, Stderr: &errs}
	if c, code := inv.Load(); c != nil || code != ExitConfig {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(errs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "--config") || !strings.Contains(lines[0], missing) || strings.Contains(errs.String(), "FAILOVER_") {
		t.Errorf("stderr:\n%s", errs.String())
	}
}

// An unknown long flag names the flag most likely meant: a word cut
// short (--conf) or mistyped (--confg); nothing for one that is like
// no flag.
func TestUnknownFlagSaysWhichWasMeant(t *testing.T) {
	for _, c := range []struct{ arg, want string }{
		{"--conf", "failoverd: unknown flag: --conf; did you mean --config?\n"},
		{"--confg=/etc/x", "failoverd: unknown flag: --confg; did you mean --config?\n"},
		{"--hook-dri", "failoverd: unknown flag: --hook-dri; did you mean --hook-dir?\n"},
		{"--nope", "failoverd: unknown flag: --nope\n"},
	} {
		var out, errs bytes.Buffer
		if inv, code := Parse(config.Failoverd, []string{c.arg, "192.0.2.1", "eth0:198.51.100.10"}, &out, &errs); inv != nil || code != ExitUsage {
			t.Fatalf("%s: exit %d", c.arg, code)
		}
		if first, _, _ := strings.Cut(errs.String(), "usage:"); first != c.want {
			t.Errorf("%s: stderr %q, want %q first", c.arg, errs.String(), c.want)
		}
	}
}

// Configuration errors point to ipfailover(5), which a package installs,
// for the keys: not to a README a package user may not have at hand.
func TestConfigErrorsPointToTheManualOfTheKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(path, []byte("FAILOVER_WHATEVER_THIS_IS=1\nFAILOVER_INTERVAL=fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var errs bytes.Buffer
	inv := &Invocation{Role: config.Heartbeatd, Sources: config.Sources{File: path, FileExplicit: true, Args: []string{"192.0.2.255"}}, Stderr: &errs}
	if c, code := inv.Load(); c != nil || code != ExitConfig {
		t.Fatalf("exit %d:\n%s", code, errs.String())
	}
	if !strings.HasSuffix(errs.String(), "heartbeatd: configuration error; heartbeatd -h lists the flags, ipfailover(5) the keys\n") {
		t.Errorf("stderr:\n%s", errs.String())
	}
	if err := os.WriteFile(path, []byte("FAILOVER_WHATEVER_THIS_IS=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, code := inv.Load()
	if code != ExitOK || len(c.Warnings) != 1 || !strings.HasSuffix(c.Warnings[0].Error(), "unknown key, ignored; remove it, or see ipfailover(5) for the keys") {
		t.Fatalf("exit %d, warnings %v", code, c.Warnings)
	}
	for _, s := range []string{errs.String(), c.Warnings[0].Error()} {
		if strings.Contains(s, "README") {
			t.Errorf("a message names the README: %s", s)
		}
	}
}
