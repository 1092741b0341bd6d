package neighbor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/linksock"
)

// The sockets the announcer and the asker share the making of.

const ethPARP = 0x0806

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// recvBuffer is a receiving socket's buffer: room for a burst of other
// hosts' traffic without losing the answer behind it.
const recvBuffer = 1 << 20

// openPacketSocket opens an AF_PACKET datagram socket (the kernel adds
// and strips the Ethernet header) with protocol 0: it receives nothing
// until bound to a protocol. flags adds to SOCK_CLOEXEC.
func openPacketSocket(flags int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|flags, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return -1, permission("open ARP socket", err)
		}
		return -1, fmt.Errorf("open ARP socket: %w", err)
	}
	return fd, nil
}

// permission wraps a refusal to open a socket: the message names the
// capability that is missing.
func permission(op string, err error) error {
	return fmt.Errorf("%s: %w: needs CAP_NET_RAW (run as root or grant the capability): %v", op, os.ErrPermission, err)
}

// arpBroadcast is where an ARP frame sent on ifi goes: every host on
// the link.
func arpBroadcast(ifi *net.Interface) *unix.SockaddrLinklayer {
	to := &unix.SockaddrLinklayer{Protocol: htons(ethPARP), Ifindex: ifi.Index, Halen: 6}
	copy(to.Addr[:], EthernetBroadcast)
	return to
}

// icmpv6Filter is ICMPV6_FILTER from <linux/icmpv6.h>, which x/sys lacks.
const icmpv6Filter = 1

// listenICMPv6 opens a raw ICMPv6 socket that receives only the message
// types in accept (none: it only sends) and sends neighbour discovery as
// RFC 4861 wants it, with hop limit 255, without looping its multicast
// back to this host. The filter is set before the socket is bound, so
// nothing else is ever queued; a socket that receives gets recvBuffer.
func listenICMPv6(accept ...ipv6.ICMPType) (*ipv6.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			var f unix.ICMPv6Filter // a set bit blocks its type
			for i := range f.Data {
				f.Data[i] = ^uint32(0)
			}
			for _, t := range accept {
				f.Data[t>>5] &^= 1 << (t & 31)
			}
			serr = unix.SetsockoptICMPv6Filter(int(fd), unix.SOL_ICMPV6, icmpv6Filter, &f)
			if len(accept) > 0 {
				linksock.SetRecvBuffer(int(fd), recvBuffer)
			}
		})
		return errors.Join(err, serr)
	}}
	c, err := lc.ListenPacket(context.Background(), "ip6:ipv6-icmp", "::")
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, permission("open ICMPv6 socket", err)
		}
		return nil, fmt.Errorf("open ICMPv6 socket: %w", err)
	}
	p := ipv6.NewPacketConn(c)
	if err := errors.Join(p.SetMulticastLoopback(false), p.SetMulticastHopLimit(255)); err != nil {
		c.Close()
		return nil, fmt.Errorf("set up ICMPv6 socket: %w", err)
	}
	return p, nil
}

// sendND sends a neighbour discovery message on ifi to dst, from src
// (invalid: the kernel picks one), with hop limit 255.
func sendND(c *ipv6.PacketConn, ifi *net.Interface, src, dst netip.Addr, msg []byte) error {
	cm := &ipv6.ControlMessage{IfIndex: ifi.Index, HopLimit: 255}
	if src.IsValid() {
		cm.Src = src.AsSlice()
	}
	_, err := c.WriteTo(msg, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}
