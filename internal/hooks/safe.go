package hooks

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// UnsafeError is why a hook file or folder was refused: hooks run as root,
// so anything a non-root user can change is a way to become root.
type UnsafeError struct {
	Path   string
	Reason string // e.g. "writable by group (mode -rwxrwxr-x)"
	Fix    string // a shell command that makes it safe
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("hooks: refusing %s: %s, so a non-root user could change what failoverd runs as root; fix: %s",
		e.Path, e.Reason, e.Fix)
}

// checkSafePath checks a folder (or file) by path.
func checkSafePath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("hooks: checking %s: %w", path, err)
	}
	return checkSafe(path, fi)
}

// checkSafeHook checks a hook file and, when it is a symlink, the folder
// its target is in: whoever can write there can replace the target.
func checkSafeHook(path string, fi fs.FileInfo, symlink bool) error {
	if err := checkSafe(path, fi); err != nil {
		return err
	}
	if !symlink {
		return nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("hooks: resolving %s: %w", path, err)
	}
	return checkSafePath(filepath.Dir(real))
}

func checkSafe(path string, fi fs.FileInfo) error {
	var why, fix []string
	if uid, known := fileOwner(fi); !known {
		why = append(why, "its owner cannot be checked on this system")
		fix = append(fix, "chown root "+shellQuote(path))
	} else if uid != 0 {
		why = append(why, fmt.Sprintf("owned by uid %d, not root", uid))
		fix = append(fix, "chown root "+shellQuote(path))
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		by := "group and others"
		switch {
		case perm&0o022 == 0o020:
			by = "group"
		case perm&0o022 == 0o002:
			by = "others"
		}
		why = append(why, fmt.Sprintf("writable by %s (mode %v)", by, fi.Mode()))
		fix = append(fix, "chmod go-w "+shellQuote(path))
	}
	if len(why) == 0 {
		return nil
	}
	return &UnsafeError{Path: path, Reason: strings.Join(why, " and "), Fix: strings.Join(fix, " && ")}
}

// shellQuote quotes path so that the fix can be pasted into a shell.
func shellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-+:%@,", c))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
