package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/config"
)

// loadWithHookDir is failoverd's configuration for testAddr with the hook
// folder given as --hook-dir.
func loadWithHookDir(t *testing.T, dir string) *config.Config {
	t.Helper()
	c, err := config.Load(config.Failoverd, config.Sources{
		Args:  []string{"192.0.2.1", "eth0:" + testAddr.String()},
		Flags: config.Settings{config.KeyHookDir: {Value: dir, Origin: config.Origin{Arg: "--hook-dir"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// findings returns CheckConfig's findings of a level as text.
func findings(c *config.Config, level config.Level) []string {
	var out []string
	for _, f := range CheckConfig(c, config.Failoverd) {
		if f.Level == level {
			out = append(out, f.Err.Error())
		}
	}
	return out
}

func wantFinding(t *testing.T, got []string, parts ...string) {
	t.Helper()
	for _, g := range got {
		if func() bool {
			for _, p := range parts {
				if !strings.Contains(g, p) {
					return false
				}
			}
			return true
		}() {
			return
		}
	}
	t.Errorf("no finding with %q among %q", parts, got)
}

func TestCheckConfigHookDirNotAFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hooks")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := loadWithHookDir(t, file)
	wantFinding(t, findings(c, config.Fatal), "command line (--hook-dir): FAILOVER_HOOK_DIR="+file+": ", "is not a folder", "every takeover is vetoed")
	// heartbeatd's checks live there too, and say what it costs them.
	var hb []string
	for _, f := range CheckConfig(c, config.Heartbeatd) {
		if f.Level == config.Fatal {
			hb = append(hb, f.String())
		}
	}
	wantFinding(t, hb, "FAILOVER_HOOK_DIR="+file+": ", "is not a folder", "every round of checks fails")

	// An address's folder that is a file stops its hooks the same way.
	r, dir, _ := newRunner(t)
	chmod(t, r.Dir, 0o755)
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.List(testAddr, Test); err == nil || !strings.Contains(err.Error(), dir+" is not a folder") {
		t.Errorf("List of a folder that is a file: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: as non-root the test's hook folder is refused as not root's first")
	}
	wantFinding(t, findings(loadWithHookDir(t, r.Dir), config.Fatal), dir+" is not a folder")
}

func TestCheckConfigSafety(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	r, dir, _ := newRunner(t)
	chmod(t, r.Dir, 0o755)
	writeHook(t, dir, "Test", "", 0o755)
	writeHook(t, dir, "PreAcq10.StopDIP", "", 0o755)
	c := loadWithHookDir(t, r.Dir)
	if bad := findings(c, config.Fatal); len(bad) != 0 {
		t.Fatalf("safe hooks: errors %q", bad)
	}
	wantFinding(t, findings(c, config.OK), "hooks of "+testAddr.String()+": Test, PreAcq10.StopDIP")

	bad := writeHook(t, dir, "PostAcq10", "", 0o775)
	chmod(t, dir, 0o775)
	got := findings(c, config.Fatal)
	wantFinding(t, got, "FAILOVER_HOOK_DIR="+r.Dir+": refusing "+dir+": writable by group", "chmod go-w "+dir)
	if len(got) != 1 {
		t.Errorf("an unsafe folder: %d errors %q, want it once", len(got), got)
	}
	chmod(t, dir, 0o755)
	wantFinding(t, findings(c, config.Fatal), "refusing "+bad+": writable by group")
	chmod(t, bad, 0o755)

	chmod(t, r.Dir, 0o777)
	wantFinding(t, findings(c, config.Fatal), "refusing "+r.Dir+": writable by group and others")
	chmod(t, r.Dir, 0o755)

	chmod(t, filepath.Join(dir, "Test"), 0o644)
	wantFinding(t, findings(c, config.Fatal), "Test is not executable")
}

func TestCheckConfigWarnsOfSetAsideHooks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	r, dir, _ := newRunner(t)
	chmod(t, r.Dir, 0o755)
	fence := writeHook(t, dir, "Test.fence", "", 0o755)
	sample := writeHook(t, dir, "Test.sample", "", 0o644)
	runs := writeHook(t, dir, "PreAcq20.StopSA.disabled", "", 0o755)
	writeHook(t, dir, "PreAcq30.StopX.disabled", "", 0o644) // not executable: does not run
	writeHook(t, dir, "PreAcq10.fence", "", 0o755)          // a hook like any other
	c := loadWithHookDir(t, r.Dir)
	warn := findings(c, config.Warning)
	wantFinding(t, warn, fence+" will not run", "rename it to Test to use it")
	wantFinding(t, warn, sample+" will not run", "rename it to Test to use it")
	wantFinding(t, warn, runs+" runs as a PreAcq hook")
	wantFinding(t, warn, "PreAcq30.StopX.disabled will not run as a PreAcq hook: it is not executable")
	if len(warn) != 4 {
		t.Errorf("warnings %q; want 4", warn)
	}
	if bad := findings(c, config.Fatal); len(bad) != 0 {
		t.Errorf("errors %q", bad)
	}
}

// failoverd -n warns of every file named like a hook that will not run,
// and says why, by the rule the runner skips it by at run time: a
// PostAcq20 without its execute bit was listed as if fine, then skipped
// at the takeover with only a log line.
func TestCheckConfigWarnsOfEveryHookThatWillNotRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	r, dir, logs := newRunner(t)
	chmod(t, r.Dir, 0o755)
	writeHook(t, dir, "PostAcq10", "", 0o755)
	noExec := writeHook(t, dir, "PostAcq20", "", 0o644)
	lower := writeHook(t, dir, "postacq30", "", 0o755)
	backup := writeHook(t, dir, "PostAcq40~", "", 0o755)
	hidden := writeHook(t, dir, ".PreRel10", "", 0o755)
	folder := filepath.Join(dir, "PreRel20.d")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "PostRel10")
	if err := os.Symlink(filepath.Join(dir, "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	test := writeHook(t, dir, "test", "", 0o755)
	writeHook(t, dir, "Check10.http", "", 0o644) // heartbeatd's, not failoverd's
	c := loadWithHookDir(t, r.Dir)
	warn := findings(c, config.Warning)
	wantFinding(t, warn, noExec+" will not run as a PostAcq hook: it is not executable", "chmod 755 "+noExec)
	wantFinding(t, warn, lower+" will not run as a PostAcq hook", "case-sensitive", "rename it to PostAcq30")
	wantFinding(t, warn, backup+" will not run as a PostAcq hook", "backup")
	wantFinding(t, warn, hidden+" will not run as a PreRel hook", "hidden", "rename it to PreRel10")
	wantFinding(t, warn, folder+" will not run as a PreRel hook: it is a folder")
	wantFinding(t, warn, dangling+" will not run as a PostRel hook: cannot stat it")
	wantFinding(t, warn, test+" will not run as a Test hook", "rename it to Test")
	if len(warn) != 7 {
		t.Errorf("warnings %q; want 7", warn)
	}
	if bad := findings(c, config.Fatal); len(bad) != 0 {
		t.Errorf("errors %q", bad)
	}
	wantFinding(t, findings(c, config.OK), "hooks of "+testAddr.String()+": PostAcq10")

	// The runner skips the same files when the stage runs, and logs the
	// ones a look at the name does not explain.
	r.RequireSafe = true
	res, err := r.Run(t.Context(), PostAcq, Env{Address: testAddr})
	if err != nil || len(res) != 1 || res[0].Name != "PostAcq10" {
		t.Fatalf("Run(PostAcq) = %+v, %v; want PostAcq10 alone", res, err)
	}
	found := false
	for _, rec := range logs.records(t) {
		if rec["level"] == "WARN" && rec["path"] == noExec && strings.Contains(rec["msg"].(string), "not executable") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about the non-executable PostAcq20 in the log")
	}

	// heartbeatd -n says the same of its checks, and nothing of
	// failoverd's hooks.
	conf := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(conf, []byte("FAILOVER_SERVICE_IPS=\"eth0:"+testAddr.String()+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hc, err := config.Load(config.Heartbeatd, config.Sources{File: conf, Args: []string{"192.0.2.255", "198.51.100.255"},
		Flags: config.Settings{config.KeyHookDir: {Value: r.Dir, Origin: config.Origin{Arg: "--hook-dir"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var hwarn []string
	for _, f := range CheckConfig(hc, config.Heartbeatd) {
		if f.Level == config.Warning {
			hwarn = append(hwarn, f.String())
		}
	}
	wantFinding(t, hwarn, filepath.Join(dir, "Check10.http")+" will not run as a Check hook: it is not executable")
	if len(hwarn) != 1 {
		t.Errorf("heartbeatd's warnings %q; want 1", hwarn)
	}
}

// heartbeatd -n lists the Check* hooks of its service addresses and
// refuses unsafe ones, as failoverd -n does its hooks.
func TestCheckConfigListsChecks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only files owned by root pass the safety check")
	}
	r, dir, _ := newRunner(t)
	chmod(t, r.Dir, 0o755)
	writeHook(t, dir, "Check10.http", "", 0o755)
	writeHook(t, dir, "Test", "", 0o755) // failoverd's, not a check
	conf := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(conf, []byte("FAILOVER_SERVICE_IPS=\"eth0:"+testAddr.String()+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(config.Heartbeatd, config.Sources{File: conf, Args: []string{"192.0.2.255", "198.51.100.255"},
		Flags: config.Settings{config.KeyHookDir: {Value: r.Dir, Origin: config.Origin{Arg: "--hook-dir"}}}})
	if err != nil {
		t.Fatal(err)
	}
	of := func(level config.Level) []string {
		var out []string
		for _, f := range CheckConfig(c, config.Heartbeatd) {
			if f.Level == level {
				out = append(out, f.String())
			}
		}
		return out
	}
	wantFinding(t, of(config.OK), "checks of "+testAddr.String()+": Check10.http")
	bad := writeHook(t, dir, "Check20.tcp", "", 0o775)
	wantFinding(t, of(config.Fatal), "refusing "+bad+": writable by group")
}
