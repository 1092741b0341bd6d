package fdtimer

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdTimer is a timerfd that Go's network poller watches. Its system
// calls are raw: they cannot block (the fd is non-blocking), and unlike
// ordinary ones they do not wake the runtime's monitor thread.
type fdTimer struct {
	f  *os.File
	rc syscall.RawConn
	c  chan time.Time
}

func newFD(first, interval time.Duration) (*fdTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &fdTimer{f: f, rc: rc, c: make(chan time.Time, 1)}
	if err := t.set(first, interval); err != nil {
		f.Close()
		return nil, err
	}
	go t.run()
	return t, nil
}

// set arms the timerfd. Through Control the fd cannot be closed, nor its
// number reused, during the call; after Stop it does nothing.
func (t *fdTimer) set(first, interval time.Duration) error {
	// A zero first expiry would disarm the timer: "at once" is 1 ns.
	spec := unix.ItimerSpec{
		Value:    unix.NsecToTimespec(int64(max(first, 1))),
		Interval: unix.NsecToTimespec(int64(max(interval, 0))),
	}
	var errno unix.Errno
	err := t.rc.Control(func(fd uintptr) {
		_, _, errno = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (t *fdTimer) C() <-chan time.Time { return t.c }

// Reset re-arms the timer (the count of expiries starts again from
// zero) and drops an expiry delivered but not yet received.
func (t *fdTimer) Reset(first, interval time.Duration) {
	drain(t.c) // before: an expiry "at once" may be delivered at once
	_ = t.set(first, interval)
}

// Stop closes the timerfd, which also ends run.
func (t *fdTimer) Stop() { t.f.Close() }

// run reads the expiries and passes them on, in one Read for the timer's
// whole life. Within one Read the poller keeps the notice of an expiry
// that comes while the callback is busy, so after each expiry the
// callback goes straight back to waiting instead of asking the fd again
// (which would only get EAGAIN). A new Read would first forget such a
// notice, and with it an expiry.
func (t *fdTimer) run() {
	var buf [8]byte
	_ = t.rc.Read(func(fd uintptr) bool {
		_, _, errno := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch errno {
		case 0:
			select {
			case t.c <- time.Now():
			default:
			}
			return false // wait for the next expiry
		case unix.EAGAIN:
			return false
		default:
			return true // closed
		}
	})
}
