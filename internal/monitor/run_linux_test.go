package monitor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/linksock"
)

// brokenConn is a socket whose reads fail: after wait, its RawConn.Read
// returns err or, when err is nil, hands the reader fd, which is not a
// socket.
type brokenConn struct {
	net.PacketConn // nil: only SyscallConn and Close are called
	fd             uintptr
	err            error
	wait           time.Duration
}

func (c *brokenConn) SyscallConn() (syscall.RawConn, error) { return c, nil }
func (c *brokenConn) Close() error                          { return nil }
func (c *brokenConn) Control(f func(fd uintptr)) error      { f(c.fd); return nil }
func (c *brokenConn) Write(func(fd uintptr) bool) error     { return errors.ErrUnsupported }
func (c *brokenConn) Read(f func(fd uintptr) bool) error {
	time.Sleep(c.wait)
	if c.err != nil {
		return c.err
	}
	for !f(c.fd) {
	}
	return nil
}

// runBroken runs a monitor on conns until Run returns, while the
// monitor's context lives on, and returns the log and Run's error.
func runBroken(t *testing.T, conns ...*brokenConn) (logs string, err error) {
	t0, _ := testMonitor(t, nil, false)
	var buf bytes.Buffer
	m := newMonitor(t0.cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	for _, c := range conns {
		m.socks = append(m.socks, &socket{Socket: &linksock.Socket{Conn: c}})
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err = m.Run(ctx, func([]Heard) { t.Error("a broken socket delivered heartbeats") })
	return buf.String(), err
}

// A socket whose reads fail (here: the kernel says its descriptor is not
// a socket) ends its reader, and Run says so, as an error and in the
// log: its link goes unheard, and failoverd must not take that for a
// silent primary without a word.
func TestRunSaysWhenASocketFails(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logs, err := runBroken(t, &brokenConn{fd: f.Fd()})
	if !errors.Is(err, unix.ENOTSOCK) {
		t.Fatalf("Run returned %v, want the read's error (%v)", err, unix.ENOTSOCK)
	}
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "a heartbeat socket failed") {
		t.Fatalf("the failure was not logged:\n%s", logs)
	}
}

// With several sockets failing, Run returns the first failure.
func TestRunReturnsTheFirstSocketFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first, second := errors.New("the first failure"), errors.New("the second failure")
		_, err := runBroken(t, &brokenConn{err: first}, &brokenConn{err: second, wait: time.Second})
		if !errors.Is(err, first) {
			t.Fatalf("Run returned %v, want %v", err, first)
		}
	})
}
