package linksock

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// On Linux a socket is read with raw recvmmsg(2) calls inside one
// RawConn.Read that lasts as long as the socket. Each time Go's poller
// says the socket is readable, one call takes every packet queued (up to
// Batch); a call that returns fewer than Batch has emptied the queue, so
// the next packet is a new readiness event and the loop waits for it
// without a read that would only say EAGAIN. As a raw call it does not
// wake the Go runtime's monitor thread, which every ordinary system call
// does when the process was idle. At a 10 ms interval on two links, those
// extra reads and wakeups cost more CPU time than the packets themselves.

// Batch is how many packets one call can take.
const Batch = 16

// Loop is the socket's reader.
func (s *Socket) Loop() ReadLoop { return rawLoop(s.Conn) }

// Drain reads what is queued on the socket now, without waiting, into its
// own buffers (the reader goroutine may be reading at the same time: the
// kernel hands each packet to one of them). It stops at an empty queue,
// after max packets, or at the first batch that ends after until, and
// returns how many packets it read: under a flood the queue never
// empties (see monitor.Monitor.Drain).
func (s *Socket) Drain(each PacketFunc, done func(), max int, until time.Time) (int, error) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	if s.drainBuf == nil {
		s.drainBuf = newReceiver()
	}
	sc, err := s.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	r := s.drainBuf
	read := 0
	var rerr error
	cerr := sc.Control(func(fd uintptr) {
		for read < max {
			want := min(Batch, max-read)
			n, err := r.recv(fd, want)
			if err != nil {
				if !errors.Is(err, unix.EAGAIN) {
					rerr = err
				}
				return
			}
			for i := range n {
				each(r.packet(i))
			}
			done()
			read += n
			if n < want || !time.Now().Before(until) {
				return
			}
		}
	})
	return read, errors.Join(cerr, rerr)
}

// yieldEvery is how many packets a reader takes before it lets the other
// goroutines run (the other links' readers, the deadline timer): under a
// flood its socket is never empty. It yields and reads on: parking until
// the poller says the socket is readable would leave what is already
// queued (the link's own heartbeats behind the junk) unread until the
// next packet arrives. The Go runtime polls for the other sockets at
// least every 10 ms meanwhile, and failoverd drains every socket before
// it counts a link silent.
const yieldEvery = 4 * Batch

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// receiver holds the buffers of one batch.
type receiver struct {
	msgs  [Batch]mmsghdr
	iovs  [Batch]unix.Iovec
	names [Batch]unix.RawSockaddrAny
	bufs  [Batch][wire.MaxPacketLen + 1]byte
	oobs  [Batch][128]byte
}

func newReceiver() *receiver {
	r := &receiver{}
	for i := range r.msgs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		h := &r.msgs[i].hdr
		h.Iov, h.Iovlen = &r.iovs[i], 1
	}
	return r
}

// recv reads up to n (at most Batch) queued packets without blocking.
func (r *receiver) recv(fd uintptr, n int) (int, error) {
	for i := range n {
		h := &r.msgs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		h.Control = &r.oobs[i][0]
		h.SetControllen(len(r.oobs[i]))
		h.Flags = 0
	}
	got, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(got), nil
}

// packet returns the i-th packet of the last batch.
func (r *receiver) packet(i int) (b []byte, ifindex int, from netip.Addr) {
	h := &r.msgs[i].hdr
	switch rsa := &r.names[i]; rsa.Addr.Family {
	case unix.AF_INET:
		from = netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(rsa)).Addr)
	case unix.AF_INET6:
		from = netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(rsa)).Addr)
	}
	return r.bufs[i][:r.msgs[i].n], pktinfoIndex(r.oobs[i][:h.Controllen]), from
}

func rawLoop(c net.PacketConn) ReadLoop {
	return func(each PacketFunc, done func()) error {
		sc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			return err
		}
		r := newReceiver()
		var rerr error
		perr := sc.Read(func(fd uintptr) bool {
			for taken := 0; ; {
				if taken >= yieldEvery {
					runtime.Gosched()
					taken = 0
				}
				n, err := r.recv(fd, Batch)
				switch {
				case errors.Is(err, unix.EAGAIN):
					return false // wait for the next packet
				case errors.Is(err, unix.EINTR):
					continue
				case err != nil:
					rerr = err
					return true
				}
				for i := range n {
					each(r.packet(i))
				}
				done()
				taken += n
				if n < Batch {
					return false // the queue is empty: the next packet wakes us
				}
			}
		})
		if perr != nil {
			return perr
		}
		return rerr
	}
}

// pktinfoIndex finds the interface index in a control message buffer; 0
// when there is none.
func pktinfoIndex(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, cm := range msgs {
		switch {
		case cm.Header.Level == unix.IPPROTO_IP && cm.Header.Type == unix.IP_PKTINFO && len(cm.Data) >= unix.SizeofInet4Pktinfo:
			return int((*unix.Inet4Pktinfo)(unsafe.Pointer(&cm.Data[0])).Ifindex)
		case cm.Header.Level == unix.IPPROTO_IPV6 && cm.Header.Type == unix.IPV6_PKTINFO && len(cm.Data) >= unix.SizeofInet6Pktinfo:
			return int((*unix.Inet6Pktinfo)(unsafe.Pointer(&cm.Data[0])).Ifindex)
		}
	}
	return 0
}

// ReadsAtOnce is how many packets a reader takes before it yields, for
// tests that build on both kinds of system.
func ReadsAtOnce() int { return yieldEvery }
