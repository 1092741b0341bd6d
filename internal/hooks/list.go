package hooks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ipfailover/ipfailover/internal/safefile"
)

// Folder is where the hooks of addr live. It uses netip.Addr.String so
// that "192.0.2.10" and an IPv6 address each have one spelling.
func (r *Runner) Folder(addr netip.Addr) string {
	return filepath.Join(r.Dir, addr.String())
}

// List returns the paths of the hook files of stage for addr, in byte order
// of the name as `ls` sorts them, since administrators number their hooks
// (PreAcq10.StopDIP, PreAcq20.StopSA) to order them. For Test only the file
// named exactly "Test" counts; for the other stages every file whose name
// starts with the stage name, case-sensitively. Only executable regular
// files (or symlinks to them) are hooks; names starting with "." or ending
// with "~" (editor backups) are skipped. A missing folder means no hooks.
// A file skipped for its content (not executable, not a file) is logged;
// failoverd -n warns of every skipped one (CheckConfig).
//
// With RequireSafe, List fails with an *UnsafeError, which names the path
// and the fix, for each hook file, address folder or Dir that a non-root
// user could change or replace: one not owned by root, or writable by
// group or others, or below a folder that is (see checkChain).
func (r *Runner) List(addr netip.Addr, stage Stage) ([]string, error) {
	l, err := r.list(addr, stage)
	return l.paths, err
}

// listing is what List found for one stage, and what Run compares with
// before each hook starts.
type listing struct {
	folder string
	seen   fs.FileInfo // the folder when its hooks were checked (with RequireSafe)
	paths  []string
	// skipped are the files named like the stage's hooks that will not
	// run, and why: failoverd -n shows them (CheckConfig).
	skipped []skip
}

// skip is a file that looks like a hook of a stage but will not run.
type skip struct {
	path string
	why  string
	// logged: the runner logs it at each run, at level; a name the
	// runner skips is not logged (an editor's backup is no mistake).
	logged bool
	level  slog.Level
}

func (r *Runner) list(addr netip.Addr, stage Stage) (listing, error) {
	if !stage.valid() {
		return listing{}, fmt.Errorf("hooks: unknown stage %q", stage)
	}
	if !addr.IsValid() {
		return listing{}, errors.New("hooks: no address given, so no hook folder to look in")
	}
	if r.Dir == "" {
		return listing{}, errors.New("hooks: no hook folder configured")
	}
	dir := r.Folder(addr)
	l := listing{folder: dir}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err == nil && !fi.IsDir() {
		return l, notAFolder(dir)
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return l, notAFolder(r.Dir)
	}
	if err != nil {
		return l, fmt.Errorf("hooks: reading %s: %w", dir, err)
	}
	if r.RequireSafe {
		if err := r.checkFolders(dir); err != nil {
			return l, err
		}
		if l.seen, err = os.Stat(dir); err != nil {
			return l, fmt.Errorf("hooks: reading %s: %w", dir, err)
		}
	}
	entries, err := os.ReadDir(dir) // sorted by name, byte order
	if err != nil {
		return l, fmt.Errorf("hooks: reading %s: %w", dir, err)
	}

	var refused []error // a Test that cannot run, unsafe hooks: the stage cannot run
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		runs, why := nameRule(stage, name)
		if !runs {
			if why != "" {
				l.skipped = append(l.skipped, skip{path: path, why: why})
			}
			continue
		}
		fi, err := os.Stat(path) // follows a symlink: the target is what runs
		switch {
		case err != nil:
			l.skipped = append(l.skipped, skip{path: path, why: fmt.Sprintf("cannot stat it (%v); a symbolic link must lead to the hook", err), logged: true, level: slog.LevelWarn})
			continue
		case !fi.Mode().IsRegular():
			what := "is not a regular file (" + fi.Mode().Type().String() + ")"
			if fi.IsDir() {
				what = "is a folder (hooks are the files in the address's folder; folders in it are not searched)"
			}
			l.skipped = append(l.skipped, skip{path: path, why: "it " + what, logged: true, level: slog.LevelDebug})
			continue
		case fi.Mode().Perm()&0o111 == 0:
			if stage == Test {
				// Test is the veto, often a fence: a Test that is there
				// but cannot run must not quietly let a takeover through.
				refused = append(refused, fmt.Errorf("hooks: %s is not executable, so it cannot say yes or no; make it executable (chmod 755 %s), or remove it to allow takeovers without a test", path, safefile.ShellQuote(path)))
				continue
			}
			l.skipped = append(l.skipped, skip{path: path, why: fmt.Sprintf("it is not executable; make it executable (chmod 755 %s) to run it", safefile.ShellQuote(path)), logged: true, level: slog.LevelWarn})
			continue
		}
		if r.RequireSafe {
			if err := checkChain(path); err != nil {
				refused = append(refused, err)
				continue
			}
		}
		l.paths = append(l.paths, path)
	}
	for _, s := range l.skipped {
		if s.logged {
			r.log().Log(context.Background(), s.level, "hook skipped: "+s.why, "path", s.path, "stage", stage)
		}
	}
	if len(refused) > 0 {
		return listing{folder: dir, skipped: l.skipped}, errors.Join(refused...)
	}
	return l, nil
}

// checkFolders checks Dir and an address folder in it, each with every
// folder above it.
func (r *Runner) checkFolders(dir string) error {
	if err := checkChain(r.Dir); err != nil {
		return err
	}
	return checkChain(dir)
}

// recheck makes sure, just before a hook of l starts, that its folder is
// still the one whose hooks List checked and that nothing on its path
// has become unsafe: the hooks of a stage run one after the other, maybe
// for minutes, each by its path.
func (r *Runner) recheck(l listing, path string) error {
	if !r.RequireSafe {
		return nil
	}
	if err := r.checkFolders(l.folder); err != nil {
		return err
	}
	now, err := os.Stat(l.folder)
	if err != nil {
		return fmt.Errorf("hooks: reading %s: %w", l.folder, err)
	}
	if !os.SameFile(now, l.seen) {
		return fmt.Errorf("hooks: %s was replaced by another folder while its hooks ran, so its later hooks are not the ones that were checked; not running them", l.folder)
	}
	return checkChain(path)
}

// notAFolder is the error for a hook folder that is a file: no hook of it
// can run, and a Test that cannot run vetoes every takeover.
func notAFolder(path string) error {
	return fmt.Errorf("hooks: %s is not a folder, so no hook in it can run and every takeover is vetoed; "+
		"remove it and make the folder (install -d -o root -m 0755 %s), or set FAILOVER_HOOK_DIR to the folder that holds the hooks",
		path, safefile.ShellQuote(path))
}

// stageMatches reports whether a file name is a hook of stage.
func stageMatches(stage Stage, name string) bool {
	runs, _ := nameRule(stage, name)
	return runs
}

// nameRule is the rule by name: whether a file named name is a hook of
// stage (runs), and, for a name that looks like one of stage's but is
// not taken, why not. Test is matched exactly so that a "Test.disabled"
// or "Tests" is never taken for the veto hook; the other stages take
// every name that starts with theirs. Hidden files (".") and editors'
// backups ("~") are never hooks, and names are case-sensitive.
func nameRule(stage Stage, name string) (runs bool, why string) {
	bare := strings.TrimLeft(name, ".")
	if len(bare) < len(stage) || !strings.EqualFold(bare[:len(stage)], string(stage)) {
		return false, "" // nothing like the stage's hooks
	}
	switch {
	case bare != name:
		return false, "its name starts with \".\", and hidden files are never hooks; rename it to " + bare + " to run it"
	case strings.HasSuffix(name, "~"):
		return false, "its name ends with \"~\", as an editor's backup copy does, and those are never hooks"
	case stage == Test && name != string(Test) && !strings.EqualFold(name, string(Test)):
		return false, "only a file named exactly Test runs before a takeover or give-back; rename it to Test to use it"
	case !strings.HasPrefix(name, string(stage)):
		return false, fmt.Sprintf("hook names are case-sensitive: only a name that starts with %s runs as a %s hook; rename it to %s to run it", stage, stage, string(stage)+name[len(stage):])
	}
	return true, ""
}
