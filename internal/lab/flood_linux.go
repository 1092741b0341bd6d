package lab

import (
	"crypto/rand"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Flood is what one flood sent.
type Flood struct {
	Packets uint64
	Took    time.Duration
}

// Rate is the packets sent a second.
func (f Flood) Rate() float64 { return float64(f.Packets) / f.Took.Seconds() }

func (f Flood) String() string {
	return fmt.Sprintf("%d packets in %v (%.0f packets/s)", f.Packets, f.Took.Round(time.Millisecond), f.Rate())
}

// floodBatch is how many datagrams one sendmmsg call sends.
const floodBatch = 256

// SendFlood sends junk from ns, as fast as one thread can, from src to
// dst (both lab addresses, "ip:port"), for d, and stops by itself. Each
// datagram is size random bytes; with prefix, they start with it (the
// protocol's magic, say, so that a filter on the magic alone lets them
// through).
func SendFlood(ns *NS, src, dst string, size int, prefix []byte, d time.Duration) (Flood, error) {
	var f Flood
	err := ns.Do(func() error {
		laddr, err := net.ResolveUDPAddr("udp4", src)
		if err != nil {
			return err
		}
		raddr, err := net.ResolveUDPAddr("udp4", dst)
		if err != nil {
			return err
		}
		c, err := net.DialUDP("udp4", laddr, raddr)
		if err != nil {
			return err
		}
		defer c.Close()
		sc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		bufs := make([][]byte, floodBatch)
		iovs := make([]unix.Iovec, floodBatch)
		msgs := make([]struct {
			hdr unix.Msghdr
			n   uint32
		}, floodBatch)
		for i := range bufs {
			bufs[i] = make([]byte, size)
			_, _ = rand.Read(bufs[i])
			copy(bufs[i], prefix)
			iovs[i].Base = &bufs[i][0]
			iovs[i].SetLen(size)
			msgs[i].hdr.Iov, msgs[i].hdr.Iovlen = &iovs[i], 1
		}
		start := time.Now()
		deadline := start.Add(d)
		for time.Now().Before(deadline) {
			var n uintptr
			var errno unix.Errno
			cerr := sc.Control(func(fd uintptr) {
				n, _, errno = unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), floodBatch, 0, 0, 0)
			})
			if cerr != nil {
				return cerr
			}
			switch errno {
			case 0:
				f.Packets += uint64(n)
			case unix.ENOBUFS, unix.EAGAIN, unix.ECONNREFUSED:
				// The queue is full, or an ICMP error came back: go on.
			default:
				return fmt.Errorf("sendmmsg: %w", errno)
			}
		}
		f.Took = time.Since(start)
		return nil
	})
	return f, err
}
