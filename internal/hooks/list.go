package hooks

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
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
// starts with the stage name. Only executable regular files (or symlinks to
// them) are hooks; names starting with "." or ending with "~" (editor
// backups) are skipped. A missing folder means no hooks.
//
// With RequireSafe, a hook file, the address folder or Dir that is not
// owned by root or is writable by group or others makes List fail with an
// *UnsafeError for each, which names the path and the fix.
func (r *Runner) List(addr netip.Addr, stage Stage) ([]string, error) {
	if !stage.valid() {
		return nil, fmt.Errorf("hooks: unknown stage %q", stage)
	}
	if !addr.IsValid() {
		return nil, errors.New("hooks: no address given, so no hook folder to look in")
	}
	if r.Dir == "" {
		return nil, errors.New("hooks: no hook folder configured")
	}
	dir := r.Folder(addr)
	entries, err := os.ReadDir(dir) // sorted by name, byte order
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hooks: reading %s: %w", dir, err)
	}

	var unsafe []error
	if r.RequireSafe {
		for _, d := range []string{r.Dir, dir} {
			if err := checkSafePath(d); err != nil {
				unsafe = append(unsafe, err)
			}
		}
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if !stageMatches(stage, name) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path) // follows a symlink: the target is what runs
		if err != nil {
			r.log().Warn("hook skipped: cannot stat it", "path", path, "stage", stage, "err", err)
			continue
		}
		if !fi.Mode().IsRegular() {
			r.log().Debug("hook skipped: not a regular file", "path", path, "stage", stage)
			continue
		}
		if fi.Mode().Perm()&0o111 == 0 {
			if stage == Test {
				// Test is the veto, often a fence: a Test that is there
				// but cannot run must not quietly let a takeover through.
				return nil, fmt.Errorf("hooks: %s is not executable, so it cannot say yes or no; make it executable (chmod 755 %s), or remove it to allow takeovers without a test", path, shellQuote(path))
			}
			r.log().Warn("hook skipped: not executable; chmod +x it to run it", "path", path, "stage", stage)
			continue
		}
		if r.RequireSafe {
			if err := checkSafeHook(path, fi, e.Type()&fs.ModeSymlink != 0); err != nil {
				unsafe = append(unsafe, err)
				continue
			}
		}
		paths = append(paths, path)
	}
	if len(unsafe) > 0 {
		return nil, errors.Join(unsafe...)
	}
	return paths, nil
}

// stageMatches reports whether a file name is a hook of stage. Test is
// matched exactly so that a "Test.disabled" or "Tests" is never taken for
// the veto hook.
func stageMatches(stage Stage, name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	if stage == Test {
		return name == string(Test)
	}
	return strings.HasPrefix(name, string(stage))
}
