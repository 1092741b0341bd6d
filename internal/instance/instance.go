// Package instance keeps one daemon running per socket path. The daemon
// listens on a unix socket (failoverd's control socket, heartbeatd's
// FAILOVER_LOCK_SOCKET) for as long as it runs; another that finds the
// socket answering refuses to start and names the first one's process,
// which the kernel reports for the connection. A socket file nobody
// answers on was left by a crash, and is replaced. A stopped daemon
// (SIGSTOP, a debugger) still answers: the kernel accepts for it.
//
// Two starts at the same moment after a crash would both find the stale
// socket, and the later would remove the earlier's new one: so a daemon
// first takes an exclusive lock (flock) on a file beside the socket,
// PATH.lock, and holds it for as long as it runs; the kernel lets it go
// when the process ends, however it ends. The lock file stays.
//
// The socket's folder must be one only root (or the user the daemon runs
// as) can write to, and so must every folder above it (the rule of
// safefile.SocketFolder): whoever can write there could listen first,
// remove the socket, or put a link in its place.
package instance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/safefile"
)

// RunningError says another daemon answers on the socket, or holds its
// lock.
type RunningError struct {
	Path    string
	Daemon  string // what runs there: "failoverd", "heartbeatd"
	Setting string // what names the path: "FAILOVER_CONTROL_SOCKET"
	PID     int    // 0: the system did not say
	// Silent: it holds the lock but did not answer on the socket in
	// time (it is starting or stopping).
	Silent bool
}

func (e *RunningError) Error() string {
	who := "another " + e.Daemon
	if e.PID != 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	if e.Silent {
		return fmt.Sprintf("%s holds the lock %s.lock beside %s (%s), starting or stopping: stop it first, or give this one a socket of its own if it serves another pair",
			who, e.Path, e.Path, e.Setting)
	}
	return fmt.Sprintf("%s runs and answers on %s (%s): stop it first, or give this one a socket of its own if it serves another pair",
		who, e.Path, e.Setting)
}

// dialTimeout bounds the question whether another daemon answers, and
// the wait for one that holds the lock to answer.
const dialTimeout = time.Second

// umask guards the process's umask while a socket is made.
var umask sync.Mutex

// Listen opens the socket at path, which setting names, with mode 0600,
// making its folder (mode 0755) if needed, for daemon, and holds the
// lock beside it until the Listener is closed. A *RunningError says
// another one runs; an error that wraps a *safefile.UnsafeError, that a
// user other than root (or this one) could write to the folder.
func Listen(path, daemon, setting string) (*Listener, error) {
	dir := filepath.Dir(path)
	// Before making anything there, and again once it is made: a folder
	// the walk found missing may have been made by someone else since.
	if err := checkFolder(dir, path, setting, false); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("socket folder: %w", err)
	}
	if err := checkFolder(dir, path, setting, true); err != nil {
		return nil, err
	}
	lock, err := takeLock(path + ".lock")
	if errors.Is(err, errHeld) {
		return nil, running(path, daemon, setting)
	}
	if err != nil {
		return nil, err
	}
	l, err := listen(path, daemon, setting)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return &Listener{UnixListener: l, lock: lock}, nil
}

// checkFolder refuses dir, the folder of the socket at path, when the
// socket folder's rule does; exists: dir must be there.
func checkFolder(dir, path, setting string, exists bool) error {
	err := safefile.SocketFolder().Check(dir)
	if _, ok := errors.AsType[*safefile.UnsafeError](err); ok {
		return fmt.Errorf("%s=%s: %w", setting, path, err)
	}
	if err != nil && (exists || !errors.Is(err, os.ErrNotExist)) {
		return fmt.Errorf("socket folder: %w", err)
	}
	return nil
}

var errHeld = errors.New("held by another process")

// takeLock opens the lock file at path, never through a symbolic link,
// and locks it; errHeld: another process holds it.
func takeLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errHeld
		}
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	return f, nil
}

// listen makes the socket at path, replacing one left by a crash; the
// caller holds the lock.
func listen(path, daemon, setting string) (*net.UnixListener, error) {
	if _, err := os.Lstat(path); err == nil {
		if pid, ok := answers(path); ok {
			// One that takes no lock (an older version) answers.
			return nil, &RunningError{Path: path, Daemon: daemon, Setting: setting, PID: pid}
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// Made unreadable by the umask: no window in which another user
	// could connect, and no chmod of a path afterwards, which would
	// follow whatever the path then names.
	umask.Lock()
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	umask.Unlock()
	return l, err
}

// answers says whether a daemon answers on the socket at path, and its
// pid.
func answers(path string) (pid int, ok bool) {
	c, err := net.DialTimeout("unix", path, dialTimeout)
	if err != nil {
		return 0, false
	}
	defer c.Close()
	return peerPID(c.(*net.UnixConn)), true
}

// running is the error for a lock held by another daemon: it names the
// daemon's pid once its socket answers, which a daemon that is starting
// does within moments.
func running(path, daemon, setting string) *RunningError {
	deadline := time.Now().Add(dialTimeout)
	for {
		if pid, ok := answers(path); ok {
			return &RunningError{Path: path, Daemon: daemon, Setting: setting, PID: pid}
		}
		if time.Now().After(deadline) {
			return &RunningError{Path: path, Daemon: daemon, Setting: setting, Silent: true}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Listener is the socket of a running daemon and the lock beside it.
// A daemon that stops answering before it is done stopping (failoverd
// gives its addresses back after its control socket closes) closes the
// UnixListener alone, and Listener once it is done: until then, another
// daemon is refused.
type Listener struct {
	*net.UnixListener
	lock *os.File
	once sync.Once
	err  error
}

// Close closes the socket, which removes it, if it is open, and then lets
// go of the lock.
func (l *Listener) Close() error {
	l.once.Do(func() {
		if err := l.UnixListener.Close(); !errors.Is(err, net.ErrClosed) {
			l.err = err
		}
		l.lock.Close()
	})
	return l.err
}

// Answer accepts and closes connections on l, so that another daemon's
// question is answered, until l is closed. A daemon with nothing else to
// say on its socket runs it.
func Answer(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(100 * time.Millisecond) // no descriptors left, say
			continue
		}
		c.Close()
	}
}
