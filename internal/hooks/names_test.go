package hooks

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/config"
)

// Names a local user may give files in a hook folder they can write to:
// each rewrites what root's terminal shows if printed as it is.
var terminalTricks = []string{
	// Up a line, erase it (the "error" above), and print a fake "ok".
	"PreAcq10\x1b[1A\x1b[2K\rOK      hooks look fine\x1b[K",
	// A line of its own.
	"PostAcq20\nok      command line (--hook-dir): hooks look fine",
	// The terminal's title, a C1 control (CSI) and a DEL.
	"PreRel30\x1b]0;root@secondary\x07\u009b2J\x7f",
}

// rawControl returns the control bytes in out other than the line breaks
// and tabs that lay it out, and the C1 controls (U+0080 to U+009F), which
// some terminals obey as ESC sequences.
func rawControl(out string) []string {
	var bad []string
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			bad = append(bad, out[max(0, i-20):i+1])
		}
	}
	for _, r := range out {
		if r >= 0x80 && r <= 0x9f {
			bad = append(bad, string(r))
		}
	}
	return bad
}

// failoverd -n and heartbeatd -n show the names of hook files with their
// control characters made visible, in every finding that names one (a
// folder refused as unsafe is still listed, so its names come from a user
// who can write there), and the chmod they suggest names the very file
// when pasted into a shell.
func TestCheckConfigShowsNamesWithTheirControlCharactersVisible(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root's folders pass the safety check, and a folder that fails it first is never listed")
	}
	r, dir, _ := newRunner(t)
	chmod(t, r.Dir, 0o755)
	chmod(t, dir, 0o777) // a local user may write here
	var files []string
	for _, name := range terminalTricks {
		files = append(files, writeHook(t, dir, name, "", 0o644))
	}
	// In a safe folder only root could name them so; they are shown the
	// same way: listed as hooks, and as a hook that looks set aside.
	safe := &Runner{Dir: t.TempDir()}
	chmod(t, safe.Dir, 0o755)
	safeDir := safe.Folder(testAddr)
	if err := os.Mkdir(safeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeHook(t, safeDir, "PreAcq10\x1b[2K\rok", "", 0o755)
	writeHook(t, safeDir, "PostAcq20\x1b[1A.disabled", "", 0o755)
	writeHook(t, safeDir, "Check10\x1b[1A\x1b[2K", "", 0o644)

	conf := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(conf, []byte("FAILOVER_SERVICE_IPS=\"eth0:"+testAddr.String()+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	heartbeatd := func(hookDir string) *config.Config {
		c, err := config.Load(config.Heartbeatd, config.Sources{File: conf, Args: []string{"192.0.2.255", "198.51.100.255"},
			Flags: config.Settings{config.KeyHookDir: {Value: hookDir, Origin: config.Origin{Arg: "--hook-dir"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, run := range []struct {
		what string
		c    *config.Config
		role config.Role
		// want are parts of the output: what each name shows as.
		want []string
	}{
		{"failoverd, unsafe folder", loadWithHookDir(t, r.Dir), config.Failoverd, []string{
			`PreAcq10\x1b[1A\x1b[2K\rOK      hooks look fine\x1b[K will not run as a PreAcq hook`,
			`PostAcq20\nok      command line (--hook-dir): hooks look fine will not run as a PostAcq hook`,
			`PreRel30\x1b]0;root@secondary\a\u009b2J\x7f will not run as a PreRel hook`,
		}},
		{"failoverd, safe folder", loadWithHookDir(t, safe.Dir), config.Failoverd, []string{
			`hooks of ` + testAddr.String() + `: PreAcq10\x1b[2K\rok, PostAcq20\x1b[1A.disabled`,
			`PostAcq20\x1b[1A.disabled runs as a PostAcq hook`,
		}},
		{"heartbeatd, safe folder", heartbeatd(safe.Dir), config.Heartbeatd, []string{
			`Check10\x1b[1A\x1b[2K will not run as a Check hook`,
		}},
	} {
		findings := CheckConfig(run.c, run.role)
		var buf bytes.Buffer
		config.WriteFindings(&buf, findings)
		out := buf.String()
		if bad := rawControl(out); len(bad) > 0 {
			t.Errorf("%s: -n prints raw control characters, at the end of each of %q, in:\n%q", run.what, bad, out)
		}
		if lines := strings.Count(out, "\n"); lines != len(findings) {
			t.Errorf("%s: %d findings take %d lines:\n%s", run.what, len(findings), lines, out)
		}
		var lacks []string
		for _, w := range run.want {
			if !strings.Contains(out, w) {
				lacks = append(lacks, w)
			}
		}
		if len(lacks) > 0 {
			t.Errorf("%s: output lacks %q:\n%s", run.what, lacks, out)
		}
	}

	// Each suggested chmod, pasted into a shell, makes the very file
	// executable.
	c := loadWithHookDir(t, r.Dir)
	var buf bytes.Buffer
	config.WriteFindings(&buf, CheckConfig(c, config.Failoverd))
	cmds := regexp.MustCompile(`chmod 755 (\$'(?:[^'\\]|\\.)*'|'[^']*'|\S+)\)`).FindAllStringSubmatch(buf.String(), -1)
	if len(cmds) != len(files) {
		t.Fatalf("%d chmod suggestions for %d files:\n%s", len(cmds), len(files), buf.String())
	}
	for _, m := range cmds {
		if out, err := exec.Command("bash", "-c", "chmod 755 "+m[1]).CombinedOutput(); err != nil {
			t.Errorf("pasting chmod 755 %s: %v: %s", m[1], err, out)
		}
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o755 {
			t.Errorf("%q after the pasted fixes: mode %v; want 0755", f, fi.Mode())
		}
	}
}
