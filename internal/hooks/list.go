package hooks

import (
	"errors"
	"fmt"
	"io/fs"
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
// starts with the stage name. Only executable regular files (or symlinks to
// them) are hooks; names starting with "." or ending with "~" (editor
// backups) are skipped. A missing folder means no hooks.
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

	var unsafe []error
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
				return listing{}, fmt.Errorf("hooks: %s is not executable, so it cannot say yes or no; make it executable (chmod 755 %s), or remove it to allow takeovers without a test", path, safefile.ShellQuote(path))
			}
			r.log().Warn("hook skipped: not executable; chmod +x it to run it", "path", path, "stage", stage)
			continue
		}
		if r.RequireSafe {
			if err := checkChain(path); err != nil {
				unsafe = append(unsafe, err)
				continue
			}
		}
		l.paths = append(l.paths, path)
	}
	if len(unsafe) > 0 {
		return listing{folder: dir}, errors.Join(unsafe...)
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
