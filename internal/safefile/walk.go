// Package safefile checks that a file the daemons run or read a secret
// from can be changed, replaced or read only by the users it trusts, and
// everything on the way to it as well: failoverd runs its hooks, its
// notify command and sendmail as root, and a key decides who may move
// the addresses, so whoever can change one of them changes what the
// daemons do.
//
// Check walks a path the way the kernel does when the file is opened or
// run, from / down, following symbolic links: whoever can rename or
// replace anything on the way can swap in a file of their own, however
// safe the file itself is. So every folder on the way must be a trusted
// user's and not writable by group or others, except a sticky one such as
// /tmp whose entry on the way is a trusted user's too (in a sticky folder
// only an entry's owner, the folder's owner and root can rename or remove
// the entry); and what the path names must be a trusted user's and not
// writable by group or others (nor readable, for a secret). Root is
// always trusted; a Policy may trust one more user, the one the daemon
// runs as, who could change the file anyway.
//
// A check passes only for the moment it is made: a caller checks again
// just before each use, as hooks and notify do.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Policy is whom a file is trusted from and what is at stake, for the
// messages.
type Policy struct {
	// Owner may own the file and the folders on the way besides root;
	// 0 trusts root alone. A fix gives files to Owner.
	Owner uint32
	// Private: the file holds a secret, so group and others may have no
	// permission on it.
	Private bool
	// What names what the file holds, for the fix of a folder others may
	// write to: "the hooks".
	What string
	// Risk is what a user the policy does not trust could do with the
	// file: "a non-root user could change what failoverd runs as root".
	Risk string
}

// Self is the user this process runs as when it is not root, so that a
// daemon run as another user may use its own files; 0 for root.
func Self() uint32 {
	if uid := os.Geteuid(); uid > 0 {
		return uint32(uid)
	}
	return 0
}

// Program is the policy for a program the daemon runs (a notify command,
// sendmail): it runs with the daemon's rights, so only root, or the user
// the daemon runs as, may be able to change it.
func Program() Policy {
	p := Policy{Owner: Self(), What: "the program"}
	p.Risk = "a user other than " + p.trusted() + " could change what runs as " + p.owner()
	return p
}

// Secret is the policy for a file that holds a secret (a key): besides
// being safe from change, group and others may not read it.
func Secret() Policy {
	p := Policy{Owner: Self(), Private: true, What: "the secret"}
	p.Risk = "a user other than " + p.trusted() + " could read the secret or put one of theirs in its place"
	return p
}

// Configuration is the policy for the daemons' configuration file: its
// keys name the programs they run and the keys they trust, so only root,
// or the user the daemon runs as, may be able to change it; anyone may
// read it.
func Configuration() Policy {
	p := Policy{Owner: Self(), What: "the configuration file"}
	p.Risk = "a user other than " + p.trusted() + " could change the daemon's settings, such as the programs it runs as " + p.owner() + " and the keys it trusts"
	return p
}

// SocketFolder is the policy for the folder of a daemon's unix socket
// (failoverd's control socket, heartbeatd's lock socket) and of the lock
// file beside it: whoever can write to the folder could listen there
// before the daemon, or remove its socket so that a second daemon starts
// beside the first.
func SocketFolder() Policy {
	p := Policy{Owner: Self(), What: "the socket"}
	p.Risk = "a user other than " + p.trusted() + " could listen there in the daemon's place, or remove its socket so that a second daemon starts beside it"
	return p
}

// owner names the user a fix gives files to.
func (p Policy) owner() string {
	if p.Owner == 0 {
		return "root"
	}
	return fmt.Sprint(p.Owner)
}

// trusted names the users the policy trusts.
func (p Policy) trusted() string {
	if p.Owner == 0 {
		return "root"
	}
	return fmt.Sprintf("root or uid %d", p.Owner)
}

func (p Policy) trusts(uid uint32) bool { return uid == 0 || uid == p.Owner }

// UnsafeError is why a file or folder was refused: a user the policy does
// not trust could change it, or read it when it holds a secret.
type UnsafeError struct {
	Path   string
	Reason string // e.g. "writable by group (mode -rwxrwxr-x)"
	Fix    string // a shell command that makes it safe
	Risk   string // the policy's
	// On is the file whose path goes through Path, when Path is not that
	// file itself: a folder above it, or where a symbolic link leads.
	On string
}

func (e *UnsafeError) Error() string {
	on := ""
	if e.On != "" {
		on = " (on the path to " + e.On + ")"
	}
	return fmt.Sprintf("refusing %s%s: %s, so %s; fix: %s", e.Path, on, e.Reason, e.Risk, e.Fix)
}

// maxSymlinks bounds the symbolic links followed on one path, as the
// kernel does (ELOOP).
const maxSymlinks = 40

// Check checks path as the package documentation says. Its errors are
// *UnsafeError, or why a part of the path cannot be read (a missing file
// among them, fs.ErrNotExist).
func (p Policy) Check(path string) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	cur := string(filepath.Separator)
	curFI, err := os.Lstat(cur)
	if err != nil {
		return fmt.Errorf("checking %s: %w", cur, err)
	}
	sticky, err := p.checkFolderOnPath(cur, curFI, path)
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
				return fmt.Errorf("checking %s: %w", cur, err)
			}
			if sticky, err = p.checkFolderOnPath(cur, curFI, path); err != nil {
				return err
			}
			continue
		}
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if err != nil {
			return fmt.Errorf("checking %s: %w", next, err)
		}
		if sticky {
			if err := p.checkInSticky(cur, next, fi, path); err != nil {
				return err
			}
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxSymlinks {
				return fmt.Errorf("checking %s: more than %d symbolic links on the way", path, maxSymlinks)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return fmt.Errorf("checking %s: %w", next, err)
			}
			if filepath.IsAbs(target) {
				cur = string(filepath.Separator)
				if curFI, err = os.Lstat(cur); err != nil {
					return fmt.Errorf("checking %s: %w", cur, err)
				}
				if sticky, err = p.checkFolderOnPath(cur, curFI, path); err != nil {
					return err
				}
			}
			rest = append(splitPath(target), rest...)
			continue
		}
		if len(rest) == 0 {
			return onPath(p.checkSafe(next, fi, true), next, path)
		}
		if !fi.IsDir() {
			return fmt.Errorf("checking %s: %s is not a folder", path, next)
		}
		if sticky, err = p.checkFolderOnPath(next, fi, path); err != nil {
			return err
		}
		cur, curFI = next, fi
	}
	// path is / itself, or its last step was "..".
	return onPath(p.checkSafe(cur, curFI, true), cur, path)
}

// checkFolderOnPath checks a folder the walk to path goes through. sticky
// says that it is trusted and writable by others but sticky, so the entry
// taken from it must be trusted.
func (p Policy) checkFolderOnPath(dir string, fi fs.FileInfo, path string) (sticky bool, err error) {
	uid, known := fileOwner(fi)
	if known && p.trusts(uid) && fi.Mode()&fs.ModeSticky != 0 {
		return fi.Mode().Perm()&0o022 != 0, nil
	}
	return false, onPath(p.checkSafe(dir, fi, false), dir, path)
}

// checkInSticky checks an entry of a sticky folder that others can write
// to: unless the entry is trusted, its owner can rename or remove it and
// put something else there. Making the folder unwritable is no fix (/tmp
// must stay writable): the entry must be trusted, or live elsewhere.
func (p Policy) checkInSticky(dir, entry string, fi fs.FileInfo, path string) error {
	uid, known := fileOwner(fi)
	if known && p.trusts(uid) {
		return nil
	}
	owner := "an owner that cannot be checked on this system"
	if known {
		owner = fmt.Sprintf("uid %d", uid)
	}
	chown := "chown " + p.owner() + " "
	if fi.Mode()&fs.ModeSymlink != 0 {
		chown = "chown -h " + p.owner() + " "
	}
	return onPath(&UnsafeError{
		Path:   entry,
		Reason: fmt.Sprintf("owned by %s in %s, a folder anyone may write to, where its owner can replace it (the sticky bit protects only root's entries from them)", owner, dir),
		Fix:    "move it to a folder only root can write to, or " + chown + ShellQuote(entry),
		Risk:   p.Risk,
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

// checkSafe checks the owner and mode of one file or folder; last says it
// is the one the path names, which a secret's rule applies to.
func (p Policy) checkSafe(path string, fi fs.FileInfo, last bool) error {
	var why, fix []string
	if uid, known := fileOwner(fi); !known {
		why = append(why, "its owner cannot be checked on this system")
		fix = append(fix, "chown "+p.owner()+" "+ShellQuote(path))
	} else if !p.trusts(uid) {
		why = append(why, fmt.Sprintf("owned by uid %d, not %s", uid, p.trusted()))
		fix = append(fix, "chown "+p.owner()+" "+ShellQuote(path))
	}
	perm := fi.Mode().Perm()
	var open []string
	if perm&0o022 != 0 {
		open = append(open, "writable by "+whom(perm&0o022))
	}
	private := last && p.Private && perm&0o077 != 0
	if private && perm&0o044 != 0 {
		open = append(open, "readable by "+whom(perm&0o044))
	} else if private && perm&0o011 != 0 {
		open = append(open, "executable by "+whom(perm&0o011))
	}
	if len(open) > 0 {
		why = append(why, fmt.Sprintf("%s (mode %v)", strings.Join(open, " and "), fi.Mode()))
		switch {
		case private:
			fix = append(fix, "chmod go-rwx "+ShellQuote(path))
		case fi.Mode()&fs.ModeSticky != 0:
			// A shared folder such as /tmp: taking away its write
			// bits breaks everyone else's use of it.
			fix = append(fix, "move "+p.What+" to a folder only root can write to, such as one made with install -d -o root -m 0755")
		default:
			fix = append(fix, "chmod go-w "+ShellQuote(path))
		}
	}
	if len(why) == 0 {
		return nil
	}
	return &UnsafeError{Path: path, Reason: strings.Join(why, " and "), Fix: strings.Join(fix, " && "), Risk: p.Risk}
}

// whom says whether bits, of group and others only, are group's, others'
// or both.
func whom(bits fs.FileMode) string {
	switch {
	case bits&0o070 != 0 && bits&0o007 != 0:
		return "group and others"
	case bits&0o070 != 0:
		return "group"
	}
	return "others"
}
