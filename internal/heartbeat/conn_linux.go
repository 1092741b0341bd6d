package heartbeat

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawConn sends heartbeats on plain sockets that Go's network poller does
// not watch. Through the poller every send also woke the poller's thread
// (the socket became writable again as soon as the packet was gone), and
// at a 10 ms interval on two links those wakeups cost more CPU than the
// sends. A datagram send never needs to wait here: each one is
// non-blocking (MSG_DONTWAIT), and a full send buffer is a send error on
// that link, reported like a pulled cable, so one stuck link cannot hold
// up the others.
type rawConn struct {
	fd4, fd6 int // fd6 is -1 until an IPv6 target needs it
}

var _ Conn = (*rawConn)(nil)

// ListenUDP opens the sending socket(s) on an ephemeral port.
func ListenUDP() (Conn, error) {
	fd, err := rawSocket(unix.AF_INET)
	if err != nil {
		return nil, err
	}
	// Linux loops every broadcast back to this host too, unless the
	// socket's multicast loopback is off: that copy would cost as much
	// as the heartbeat itself, to reach no one.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0)
	return &rawConn{fd4: fd, fd6: -1}, nil
}

func rawSocket(family int) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("open heartbeat socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("open heartbeat socket: SO_BROADCAST: %w", err)
	}
	return fd, nil
}

// Send writes b to dst out of ifindex from src.
func (c *rawConn) Send(b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) error {
	if dst.Addr().Is4() {
		var oob []byte
		if ifindex != 0 {
			info := unix.Inet4Pktinfo{Ifindex: int32(ifindex)}
			if src.Is4() {
				info.Spec_dst = src.As4()
			}
			oob = unix.PktInfo4(&info)
		}
		to := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.Addr().As4()}
		putPort(&to.Port, dst.Port())
		return sendErr(sendmsg(c.fd4, b, oob, unsafe.Pointer(&to), unix.SizeofSockaddrInet4))
	}
	if c.fd6 < 0 {
		fd, err := rawSocket(unix.AF_INET6)
		if err != nil {
			return err
		}
		c.fd6 = fd
	}
	var oob []byte
	if ifindex != 0 {
		info := unix.Inet6Pktinfo{Ifindex: uint32(ifindex)}
		if src.Is6() {
			info.Addr = src.As16()
		}
		oob = unix.PktInfo6(&info)
	}
	to := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.Addr().As16(), Scope_id: uint32(ifindex)}
	putPort(&to.Port, dst.Port())
	if z := dst.Addr().Zone(); z != "" && ifindex == 0 {
		ifi, err := net.InterfaceByName(z)
		if err != nil {
			return fmt.Errorf("zone of %v: %w", dst.Addr(), err)
		}
		to.Scope_id = uint32(ifi.Index)
	}
	return sendErr(sendmsg(c.fd6, b, oob, unsafe.Pointer(&to), unix.SizeofSockaddrInet6))
}

// putPort stores port in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// sendmsg sends one datagram without waiting (MSG_DONTWAIT). It is a raw
// system call: it cannot block, and unlike an ordinary one it does not
// wake the Go runtime's monitor thread, which would otherwise wake at
// every beat.
func sendmsg(fd int, b, oob []byte, to unsafe.Pointer, tolen uint32) error {
	iov := unix.Iovec{Base: unsafe.SliceData(b)}
	iov.SetLen(len(b))
	msg := unix.Msghdr{Name: (*byte)(to), Namelen: tolen, Iov: &iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	runtime.KeepAlive(b)
	if e != 0 {
		return e
	}
	return nil
}

func sendErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EAGAIN) {
		return errors.New("send buffer full: the link is not taking packets")
	}
	return fmt.Errorf("sendmsg: %w", err)
}

// Close closes the sockets.
func (c *rawConn) Close() error {
	err := unix.Close(c.fd4)
	if c.fd6 >= 0 {
		err = errors.Join(err, unix.Close(c.fd6))
	}
	return err
}
