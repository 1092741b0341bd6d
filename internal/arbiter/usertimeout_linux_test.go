package arbiter

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A connection to a member is dropped once what it sent stays
// unacknowledged for half of EtcdConfig.Reconnect: the kernel holds
// TCP_USER_TIMEOUT on it (loopback only; the cut itself is in e2e).
func TestAMembersConnectionIsDroppedOnceItsDataStaysUnacknowledged(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener here: %v", err)
	}
	defer l.Close()
	c, err := tcpDialer(DefaultReconnect/2)(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if want := DefaultReconnect / 2; time.Duration(got)*time.Millisecond != want {
		t.Errorf("TCP_USER_TIMEOUT is %d ms, want %v", got, want)
	}
}
