package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/netif"
)

// CheckConfig is failoverd -n's look at the hooks of every public address,
// so that what would refuse a stage or veto a takeover shows before a
// takeover needs them: FAILOVER_HOOK_DIR or an address folder that is not
// a folder, a hook folder or file a non-root user could change or replace
// (checked as when failoverd runs as root), and a Test that cannot run
// are errors; a file named like a hook that will not run (not executable,
// not a file, a name the runner skips: Test.fence, postacq10, PostAcq10~)
// is a warning that says why, by the rule the runner uses at run time,
// and so is one named like a disabled hook that does run
// (PreAcq20.StopSA.disabled). For
// heartbeatd it is the same look at the Check* hooks of its service
// addresses (or, without them, its own public addresses).
func CheckConfig(c *config.Config, role config.Role) []config.Finding {
	targets, stages, what := c.Pairs, []Stage{Test, PreAcq, PostAcq, PreRel, PostRel}, "hooks"
	if role == config.Heartbeatd {
		ifs, _ := netif.Snapshot()
		targets, stages, what = config.CheckTargets(c, ifs), []Stage{Check}, "checks"
	}
	var out []config.Finding
	add := func(l config.Level, problem string) {
		out = append(out, config.Finding{Level: l, Err: &config.Error{Origin: c.OriginOf(config.KeyHookDir),
			Key: config.KeyHookDir, Value: c.HookDir, Problem: problem}})
	}
	addErr := func(err error) {
		for _, e := range splitJoined(err) {
			add(config.Fatal, strings.TrimPrefix(e.Error(), "hooks: "))
		}
	}
	fi, err := os.Stat(c.HookDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		add(config.OK, "does not exist, so no "+what+" run")
		return out
	case err != nil && role == config.Heartbeatd:
		add(config.Fatal, fmt.Sprintf("cannot be read (%v), so every round of checks fails", err))
		return out
	case err != nil:
		add(config.Fatal, fmt.Sprintf("cannot be read (%v), so no hook can run and every takeover is vetoed", err))
		return out
	case !fi.IsDir() && role == config.Heartbeatd:
		add(config.Fatal, c.HookDir+" is not a folder, so every round of checks fails; make it a folder, or set FAILOVER_HOOK_DIR to the folder that holds the checks")
		return out
	case !fi.IsDir():
		addErr(notAFolder(c.HookDir))
		return out
	}
	if err := checkChain(c.HookDir); err != nil {
		addErr(err)
		return out
	}
	r := &Runner{Dir: c.HookDir, RequireSafe: true}
	// plain reads a folder the safe runner refuses, for the files in it
	// that would not run even once it is made safe.
	plain := &Runner{Dir: c.HookDir}
	var seen []netip.Addr
	for _, p := range targets {
		if slices.Contains(seen, p.Addr) {
			continue
		}
		seen = append(seen, p.Addr)
		dir := r.Folder(p.Addr)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			add(config.OK, fmt.Sprintf("no folder %s, so no %s run for %s", dir, what, p.Addr))
			continue
		}
		var found, errs, skipped []string
		for _, stage := range stages {
			l, err := r.list(p.Addr, stage)
			for _, e := range splitJoined(err) {
				if msg := e.Error(); !slices.Contains(errs, msg) {
					errs = append(errs, msg) // a folder's fault shows in every stage
				}
			}
			found = append(found, names(l.paths)...)
			if err != nil {
				l, _ = plain.list(p.Addr, stage)
			}
			for _, s := range l.skipped {
				skipped = append(skipped, fmt.Sprintf("%s will not run as a %s hook: %s", s.path, stage, s.why))
			}
		}
		for _, msg := range errs {
			add(config.Fatal, strings.TrimPrefix(msg, "hooks: "))
		}
		if len(errs) == 0 {
			if len(found) == 0 {
				found = []string{"none"}
			}
			add(config.OK, fmt.Sprintf("%s of %s: %s", what, p.Addr, strings.Join(found, ", ")))
		}
		for _, w := range skipped {
			add(config.Warning, w)
		}
		for _, w := range disabledLooking(dir, stages) {
			add(config.Warning, w)
		}
	}
	return out
}

// splitJoined returns the errors joined in err (errors.Join), or err.
func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// names returns the file names of paths.
func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// disabledSuffixes end the names of files that look set aside: copies,
// examples, backups.
var disabledSuffixes = []string{".sample", ".example", ".disabled", ".disable", ".off", ".orig", ".bak", ".old", ".save", ".dist"}

// disabledLooking warns of the files in dir whose names look like a hook
// of one of stages set aside, although they run: a PreAcq20.StopSA.disabled
// does (every file whose name starts with the stage's does). A Test.fence
// does not run (only Test does): the runner's rule says so (nameRule).
func disabledLooking(dir string, stages []Stage) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // List has said why
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		for _, stage := range stages {
			if stage == Test || !stageMatches(stage, name) || !slices.ContainsFunc(disabledSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
				continue
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				out = append(out, fmt.Sprintf("%s runs as a %s hook (every executable file whose name starts with %s does), although its name says it is set aside; to stop it, move it out of the folder or chmod -x it", path, stage, stage))
			}
		}
	}
	return out
}
