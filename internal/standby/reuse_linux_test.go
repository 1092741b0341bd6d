package standby

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// A local user's socket on the standby port, asking to share it
// (SO_REUSEADDR, then SO_REUSEPORT: neither needs privilege), is refused
// beside failoverd's: it could otherwise take the announcements sent to
// this host and blind it to the other standbys. Run as failoverd's own
// user, the strongest case (SO_REUSEPORT shares only with the same user).
func TestNoSocketBindsBesideTheStandbyPort(t *testing.T) {
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := free.LocalAddr().(*net.UDPAddr).Port
	free.Close()
	c, err := Listen(Config{Port: uint16(port), Links: []string{"lo"}, Name: "server2", Keys: func() *wire.Keyring { return wire.NewKeyring() },
		Freshness: 30 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer c.Close()
	for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, 1) }); err != nil {
				return err
			}
			return serr
		}}
		for _, at := range []string{"127.0.0.1", "0.0.0.0"} {
			s, err := lc.ListenPacket(context.Background(), "udp4", net.JoinHostPort(at, strconv.Itoa(port)))
			if err == nil {
				s.Close()
				t.Fatalf("a socket with option %d bound %s:%d beside the standby port's", opt, at, port)
			}
		}
	}
}
