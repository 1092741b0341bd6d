package monitor

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

// On Linux the monitor reads with raw recvmmsg(2) calls inside one
// RawConn.Read that lasts as long as the socket. Each time Go's poller
// says the socket is readable, one call takes every packet queued (up to
// batch); a call that returns fewer than batch has emptied the queue, so
// the next packet is a new readiness event and the loop waits for it
// without a read that would only say EAGAIN. As a raw call it does not
// wake the Go runtime's monitor thread, which every ordinary system call
// does when the process was idle. At a 10 ms interval on two links, those
// extra reads and wakeups cost more CPU time than the packets themselves.

// batch is how many packets one call can take.
const batch = 16

func (s *socket) reader() readLoop { return rawLoop(s.conn) }

// drainBuffers are the buffers of a socket's drain.
type drainBuffers struct{ r *receiver }

// drain reads what is queued on the socket now, without waiting, into its
// own buffers (the reader goroutine may be reading at the same time: the
// kernel hands each packet to one of them). It stops at an empty queue,
// after max packets, or at the first batch that ends after until, and
// returns how many packets it read: under a flood the queue never
// empties (see Monitor.Drain).
func (s *socket) drain(each packetFunc, done func(), max int, until time.Time) (int, error) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	if s.drainBuf.r == nil {
		s.drainBuf.r = newReceiver()
	}
	sc, err := s.conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return 0, err
	}
	r := s.drainBuf.r
	read := 0
	var rerr error
	cerr := sc.Control(func(fd uintptr) {
		for read < max {
			want := min(batch, max-read)
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
const yieldEvery = 4 * batch

// mmsghdr is struct mmsghdr: a msghdr and the length received.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// receiver holds the buffers of one batch.
type receiver struct {
	msgs  [batch]mmsghdr
	iovs  [batch]unix.Iovec
	names [batch]unix.RawSockaddrAny
	bufs  [batch][wire.MaxPacketLen + 1]byte
	oobs  [batch][128]byte
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

// recv reads up to n (at most batch) queued packets without blocking.
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

func rawLoop(c net.PacketConn) readLoop {
	return func(each packetFunc, done func()) error {
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
				n, err := r.recv(fd, batch)
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
				if n < batch {
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

// readsAtOnce is how many packets a reader takes before it yields, for
// tests that build on both kinds of system.
func readsAtOnce() int { return yieldEvery }
