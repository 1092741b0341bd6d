package fdtimer

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdTimer is a timerfd that Go's network poller watches. Its system
// calls are raw: they cannot block (the fd is non-blocking), and unlike
// ordinary ones they do not wake the runtime's monitor thread.
type fdTimer struct {
	f  *os.File
	fd uintptr
	c  chan time.Time
}

func newFD(first, interval time.Duration) (*fdTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	t := &fdTimer{f: os.NewFile(uintptr(fd), "timerfd"), fd: uintptr(fd), c: make(chan time.Time, 1)}
	if err := t.set(first, interval); err != nil {
		t.f.Close()
		return nil, err
	}
	go t.run()
	return t, nil
}

func (t *fdTimer) set(first, interval time.Duration) error {
	// A zero first expiry would disarm the timer: "at once" is 1 ns.
	spec := unix.ItimerSpec{
		Value:    unix.NsecToTimespec(int64(max(first, 1))),
		Interval: unix.NsecToTimespec(int64(max(interval, 0))),
	}
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, t.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (t *fdTimer) C() <-chan time.Time { return t.c }

// Reset re-arms the timer; the count of expiries starts again from zero.
func (t *fdTimer) Reset(first, interval time.Duration) { _ = t.set(first, interval) }

// Stop closes the timerfd, which also ends run.
func (t *fdTimer) Stop() { t.f.Close() }

// run reads the expiries and passes them on.
func (t *fdTimer) run() {
	sc, err := t.f.SyscallConn()
	if err != nil {
		return
	}
	var buf [8]byte
	drained := false
	for {
		var errno unix.Errno
		err := sc.Read(func(fd uintptr) bool {
			if drained {
				// The read that succeeded reset the count to zero, so
				// asking again would only get EAGAIN: wait for the
				// poller instead. Its notice of the next expiry is
				// kept even if it comes before this wait.
				drained = false
				return false
			}
			_, _, errno = unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
			drained = errno == 0
			return errno != unix.EAGAIN
		})
		if err != nil || errno != 0 {
			return // stopped
		}
		select {
		case t.c <- time.Now():
		default:
		}
	}
}
