package linksock

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopbackSockets listens on a free port of loopback, with lo as the one
// link, IPv6 too; they are closed when the test ends.
func loopbackSockets(t *testing.T) []*Socket {
	t.Helper()
	free, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	port := uint16(free.LocalAddr().(*net.UDPAddr).Port)
	free.Close()
	socks, err := Listen(Config{Port: port, Links: []string{"lo"}, Name: "test port", IPv6: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { CloseAll(socks) })
	return socks
}

// A socket's drain stops at its count, at its time (after the Batch that
// passes it, never before the first), and at an empty queue. Loopback
// only; no root needed.
func TestDrainStopsAtCountTimeAndEmptyQueue(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	s, err := NewSocket(c, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.UDPConn).SetReadBuffer(1 << 20)
	out, err := net.Dial("udp4", c.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const queued = 200
	for range queued {
		if _, err := out.Write([]byte("IPFO junk")); err != nil {
			t.Fatal(err)
		}
	}
	var slow time.Duration
	read := 0
	each := func([]byte, int, netip.Addr) { read++; time.Sleep(slow) }
	drain := func(max int, until time.Time) int {
		t.Helper()
		n, err := s.Drain(each, func() {}, max, until)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	later := time.Now().Add(time.Hour)
	if n := drain(40, later); n != 40 {
		t.Fatalf("a drain of at most 40 read %d", n)
	}
	if n := drain(1000, time.Now()); n != Batch {
		t.Fatalf("a drain already out of time read %d, want its first batch (%d)", n, Batch)
	}
	// 1 ms a packet: the first Batch ends past 20 ms, the second surely.
	slow = time.Millisecond
	timed := drain(1000, time.Now().Add(20*time.Millisecond))
	if timed != Batch && timed != 2*Batch {
		t.Fatalf("a drain with 20 ms read %d packets at 1 ms each, want one or two batches of %d", timed, Batch)
	}
	slow = 0
	rest := drain(1000, later)
	if total := 40 + Batch + timed + rest; read != total || total < 40+4*Batch || rest >= 1000 {
		t.Fatalf("read %d in all, the last drain %d up to the empty queue (%d sent)", read, rest, queued)
	}
	if n := drain(1000, later); n != 0 {
		t.Fatalf("an empty queue drained %d", n)
	}
}

// Each socket gets its full receive buffer (room for a burst of junk in
// front of a heartbeat), beyond net.core.rmem_max: failoverd runs as root,
// which may force it. Loopback only, but root.
func TestSocketsGetTheirFullReceiveBuffer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to force a receive buffer beyond net.core.rmem_max (make test runs it as root in CI)")
	}
	socks := loopbackSockets(t)
	for _, s := range socks {
		sc, err := s.Conn.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var size int
		var serr error
		if err := sc.Control(func(fd uintptr) { size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		// The kernel reports twice what was set (its bookkeeping).
		if size < 2*RecvBuffer {
			t.Errorf("the socket on %q (%s) has a receive buffer of %d bytes, want %d", s.Link, s.Conn.LocalAddr(), size/2, RecvBuffer)
		}
	}
}
