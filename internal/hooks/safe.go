package hooks

import (
	"errors"
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
	// On is the hook or folder whose path goes through Path, when Path is
	// not that hook or folder itself: a folder above it, or where a
	// symbolic link leads.
	On string
}

func (e *UnsafeError) Error() string {
	on := ""
	if e.On != "" {
		on = " (on the path to " + e.On + ")"
	}
	return fmt.Sprintf("hooks: refusing %s%s: %s, so a non-root user could change what failoverd runs as root; fix: %s",
		e.Path, on, e.Reason, e.Fix)
}

// maxSymlinks bounds the symbolic links followed on one path, as the
// kernel does (ELOOP).
const maxSymlinks = 40

// checkChain checks path the way the kernel walks it when a hook runs,
// from / down, following symbolic links: whoever can rename or replace
// anything on the way can swap in a program of their own, however safe
// the hook itself is. So every folder on the way must be root's and not
// writable by group or others, except a sticky one such as /tmp whose
// entry on the way is root's too (in a sticky folder only an entry's
// owner, the folder's owner and root can rename or remove the entry); and
// what path names must be root's and not writable by group or others.
// Its errors are *UnsafeError, or why a part of the path cannot be read.
func checkChain(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("hooks: checking %s: %w", path, err)
	}
	cur := string(filepath.Separator)
	curFI, err := os.Lstat(cur)
	if err != nil {
		return fmt.Errorf("hooks: checking %s: %w", cur, err)
	}
	sticky, err := checkFolderOnPath(cur, curFI, path)
	if err != nil {
		return err
	}
	rest := splitPath(path)
	links := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		if name == "." {
			continue
		}
		if name == ".." {
			// cur has no symbolic link in it, so its parent is the
			// folder the walk came through.
			cur = filepath.Dir(cur)
			if curFI, err = os.Lstat(cur); err != nil {
				return fmt.Errorf("hooks: checking %s: %w", cur, err)
			}
			if sticky, err = checkFolderOnPath(cur, curFI, path); err != nil {
				return err
			}
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return fmt.Errorf("hooks: checking %s: %w", next, err)
		}
		if sticky {
			if err := checkInSticky(cur, next, fi, path); err != nil {
				return err
			}
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return fmt.Errorf("hooks: checking %s: more than %d symbolic links on the way", path, maxSymlinks)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return fmt.Errorf("hooks: checking %s: %w", next, err)
			}
			if filepath.IsAbs(target) {
				cur = string(filepath.Separator)
				if curFI, err = os.Lstat(cur); err != nil {
					return fmt.Errorf("hooks: checking %s: %w", cur, err)
				}
				if sticky, err = checkFolderOnPath(cur, curFI, path); err != nil {
					return err
				}
			}
			rest = append(splitPath(target), rest...)
			continue
		}
		if len(rest) == 0 {
			return onPath(checkSafe(next, fi), next, path)
		}
		if !fi.IsDir() {
			return fmt.Errorf("hooks: checking %s: %s is not a folder", path, next)
		}
		if sticky, err = checkFolderOnPath(next, fi, path); err != nil {
			return err
		}
		cur, curFI = next, fi
	}
	// path is / itself, or its last step was "..".
	return onPath(checkSafe(cur, curFI), cur, path)
}

// checkFolderOnPath checks a folder the walk to path goes through. sticky
// says that it is root's and writable by others but sticky, so the entry
// taken from it must be root's.
func checkFolderOnPath(dir string, fi fs.FileInfo, path string) (sticky bool, err error) {
	uid, known := fileOwner(fi)
	if known && uid == 0 && fi.Mode()&fs.ModeSticky != 0 {
		return fi.Mode().Perm()&0o022 != 0, nil
	}
	return false, onPath(checkSafe(dir, fi), dir, path)
}

// checkInSticky checks an entry of a sticky folder that others can write
// to: unless the entry is root's, its owner can rename or remove it and
// put something else there. Making the folder unwritable is no fix (/tmp
// must stay writable): the entry must be root's, or live elsewhere.
func checkInSticky(dir, entry string, fi fs.FileInfo, path string) error {
	uid, known := fileOwner(fi)
	if known && uid == 0 {
		return nil
	}
	owner := "an owner that cannot be checked on this system"
	if known {
		owner = fmt.Sprintf("uid %d", uid)
	}
	chown := "chown root "
	if fi.Mode()&fs.ModeSymlink != 0 {
		chown = "chown -h root "
	}
	return onPath(&UnsafeError{
		Path:   entry,
		Reason: fmt.Sprintf("owned by %s in %s, a folder anyone may write to, where its owner can replace it (the sticky bit protects only root's entries from them)", owner, dir),
		Fix:    "move it to a folder only root can write to, or " + chown + shellQuote(entry),
	}, entry, path)
}

// onPath marks err as found on the way to path rather than at it.
func onPath(err error, at, path string) error {
	if ue, ok := errors.AsType[*UnsafeError](err); ok && at != path {
		ue.On = path
	}
	return err
}

// splitPath splits a path into its names; an absolute path's first
// separator is dropped (the walk starts at / then).
func splitPath(path string) []string {
	var out []string
	for _, name := range strings.Split(path, string(filepath.Separator)) {
		if name != "" {
			out = append(out, name)
		}
	}
	return out
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
		if fi.Mode()&fs.ModeSticky != 0 {
			// A shared folder such as /tmp: taking away its write
			// bits breaks everyone else's use of it.
			fix = append(fix, "move the hooks to a folder only root can write to, such as one made with install -d -o root -m 0755")
		} else {
			fix = append(fix, "chmod go-w "+shellQuote(path))
		}
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
