package heartbeat

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdTicker ticks from a timerfd that Go's network poller watches. A
// time.Ticker wakes the poller's thread early, because its sleeps are in
// whole milliseconds and rounded down, and then again for the rest: about
// three wakeups per beat at a 10 ms interval where this needs one.
type fdTicker struct {
	f  *os.File
	fd int
	c  chan time.Time
}

func newTicker(d time.Duration) ticker {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return goTicker{time.NewTicker(d)}
	}
	t := &fdTicker{f: os.NewFile(uintptr(fd), "heartbeat timer"), fd: fd, c: make(chan time.Time, 1)}
	if err := t.set(d); err != nil {
		t.f.Close()
		return goTicker{time.NewTicker(d)}
	}
	go t.run()
	return t
}

func (t *fdTicker) set(d time.Duration) error {
	ts := unix.NsecToTimespec(int64(d))
	return unix.TimerfdSettime(t.fd, 0, &unix.ItimerSpec{Interval: ts, Value: ts}, nil)
}

func (t *fdTicker) C() <-chan time.Time { return t.c }

func (t *fdTicker) Reset(d time.Duration) { _ = t.set(d) }

func (t *fdTicker) Stop() { t.f.Close() }

// run reads the expirations and passes them on; like a time.Ticker it
// drops ticks that the reader is not ready for.
func (t *fdTicker) run() {
	sc, err := t.f.SyscallConn()
	if err != nil {
		return
	}
	var buf [8]byte
	for {
		var errno unix.Errno
		err := sc.Read(func(fd uintptr) bool {
			// A raw read of a non-blocking fd that the poller says is
			// ready: it cannot block, and unlike an ordinary system call
			// it does not wake the Go runtime's monitor thread.
			_, _, errno = unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
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
