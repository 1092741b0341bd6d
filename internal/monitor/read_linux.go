package monitor

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the monitor reads with a raw recvmsg(2). The socket is
// non-blocking and the call is made with MSG_DONTWAIT only once Go's
// poller has said a packet is waiting, so it never blocks; as a raw call
// it does not wake the Go runtime's monitor thread, which every ordinary
// system call does when the process was idle. At a 10 ms interval on two
// links that wakeup, and the polling that follows it, cost more CPU time
// than reading the packets.

func (m *Monitor) reader4() readFunc { return rawReader(m.c4) }

func (m *Monitor) reader6() readFunc { return rawReader(m.c6) }

func rawReader(c net.PacketConn) readFunc {
	sc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return func([]byte) (int, int, netip.Addr, error) { return 0, 0, netip.Addr{}, err }
	}
	oob := make([]byte, 128)
	return func(b []byte) (n, ifindex int, from netip.Addr, err error) {
		var rerr error
		perr := sc.Read(func(fd uintptr) bool {
			n, ifindex, from, rerr = recvmsg(fd, b, oob)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if perr != nil {
			return 0, 0, netip.Addr{}, perr
		}
		return n, ifindex, from, rerr
	}
}

// recvmsg reads one datagram into b, its source address, and the index
// of the interface it arrived on from its IP_PKTINFO or IPV6_PKTINFO.
func recvmsg(fd uintptr, b, oob []byte) (n, ifindex int, from netip.Addr, err error) {
	var rsa unix.RawSockaddrAny
	var iov unix.Iovec
	if len(b) > 0 {
		iov.Base = &b[0]
		iov.SetLen(len(b))
	}
	msg := unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&rsa)),
		Namelen: uint32(unsafe.Sizeof(rsa)),
		Iov:     &iov,
		Iovlen:  1,
		Control: &oob[0],
	}
	msg.SetControllen(len(oob))
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	if e != 0 {
		return 0, 0, netip.Addr{}, e
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		from = netip.AddrFrom4(sa.Addr)
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		from = netip.AddrFrom16(sa.Addr)
	}
	return int(r), pktinfoIndex(oob[:msg.Controllen]), from, nil
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
