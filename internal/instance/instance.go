// Package instance keeps one daemon running per socket path. The daemon
// listens on a unix socket (failoverd's control socket, heartbeatd's
// FAILOVER_LOCK_SOCKET) for as long as it runs; another that finds the
// socket answering refuses to start and names the first one's process,
// which the kernel reports for the connection. A socket file nobody
// answers on was left by a crash, and is replaced. A stopped daemon
// (SIGSTOP, a debugger) still answers: the kernel accepts for it.
package instance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunningError says another daemon answers on the socket.
type RunningError struct {
	Path    string
	Daemon  string // what runs there: "failoverd", "heartbeatd"
	Setting string // what names the path: "FAILOVER_CONTROL_SOCKET"
	PID     int    // 0: the system did not say
}

func (e *RunningError) Error() string {
	who := "another " + e.Daemon
	if e.PID != 0 {
		who += fmt.Sprintf(" (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s runs and answers on %s (%s): stop it first, or give this one a socket of its own if it serves another pair",
		who, e.Path, e.Setting)
}

// dialTimeout bounds the question whether another daemon answers.
const dialTimeout = time.Second

// Listen opens the socket at path, which setting names, with mode 0600,
// making its folder (mode 0755) if needed, for daemon. A *RunningError
// says another one answers on it.
func Listen(path, daemon, setting string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket folder: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, dialTimeout); err == nil {
			pid := peerPID(c.(*net.UnixConn))
			c.Close()
			return nil, &RunningError{Path: path, Daemon: daemon, Setting: setting, PID: pid}
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// Created unreadable, then opened to its owner only: no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
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
