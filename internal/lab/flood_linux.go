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
// dst (both lab addresses, "ip:port"), for d, and stops by itself: the
// packets of Junk(size, prefix).
func SendFlood(ns *NS, src, dst string, size int, prefix []byte, d time.Duration) (Flood, error) {
	return SendPackets(ns, src, dst, Junk(size, prefix), d, 0)
}

// Junk is datagrams of size random bytes; with prefix, they start with it
// (the protocol's magic, say, so that a filter on the magic alone lets
// them through).
func Junk(size int, prefix []byte) [][]byte {
	packets := make([][]byte, floodBatch)
	for i := range packets {
		packets[i] = make([]byte, size)
		_, _ = rand.Read(packets[i])
		copy(packets[i], prefix)
	}
	return packets
}

// SendPackets sends packets from ns, over and over in turn, as fast as
// one thread can, from src to dst (both lab addresses, "ip:port"), for d
// or until max have gone (0: no count), and stops by itself.
func SendPackets(ns *NS, src, dst string, packets [][]byte, d time.Duration, max uint64) (Flood, error) {
	if len(packets) == 0 {
		return Flood{}, fmt.Errorf("flood: no packets to send")
	}
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
		iovs := make([]unix.Iovec, floodBatch)
		msgs := make([]struct {
			hdr unix.Msghdr
			n   uint32
		}, floodBatch)
		for i := range msgs {
			b := packets[i%len(packets)]
			iovs[i].Base = &b[0]
			iovs[i].SetLen(len(b))
			msgs[i].hdr.Iov, msgs[i].hdr.Iovlen = &iovs[i], 1
		}
		start := time.Now()
		deadline := start.Add(d)
		for time.Now().Before(deadline) && (max == 0 || f.Packets < max) {
			vlen := uint64(floodBatch)
			if max > 0 {
				vlen = min(vlen, max-f.Packets)
			}
			var n uintptr
			var errno unix.Errno
			cerr := sc.Control(func(fd uintptr) {
				n, _, errno = unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(vlen), 0, 0, 0)
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
