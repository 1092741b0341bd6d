//go:build !linux

package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// pollConn sends heartbeats through Go's network poller with a per-packet
// outgoing interface and source address (IP_PKTINFO / IPV6_PKTINFO), so
// each link's heartbeat leaves on that link whatever the routing table
// prefers. Linux uses rawConn instead (conn_linux.go).
type pollConn struct {
	v4 *ipv4.PacketConn
	v6 *ipv6.PacketConn // nil until an IPv6 target needs it
}

var _ Conn = (*pollConn)(nil)

// ListenUDP opens the sending socket(s) on an ephemeral port.
func ListenUDP() (Conn, error) {
	c, err := listen("udp4", "0.0.0.0:0")
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(c)
	// No copy of each broadcast back to this host: it would reach no one.
	_ = pc.SetMulticastLoopback(false)
	return &pollConn{v4: pc}, nil
}

func listen(network, addr string) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("open heartbeat socket: %w", err)
	}
	return c, nil
}

// Send writes b to dst out of ifindex from src.
func (c *pollConn) Send(b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) error {
	to := net.UDPAddrFromAddrPort(dst)
	if dst.Addr().Is4() {
		var cm *ipv4.ControlMessage
		if ifindex != 0 {
			cm = &ipv4.ControlMessage{IfIndex: ifindex}
			if src.Is4() {
				cm.Src = src.AsSlice()
			}
		}
		_, err := c.v4.WriteTo(b, cm, to)
		return err
	}
	if c.v6 == nil {
		pc, err := listen("udp6", "[::]:0")
		if err != nil {
			return err
		}
		c.v6 = ipv6.NewPacketConn(pc)
	}
	var cm *ipv6.ControlMessage
	if ifindex != 0 {
		cm = &ipv6.ControlMessage{IfIndex: ifindex}
		if src.Is6() {
			cm.Src = src.AsSlice()
		}
	}
	_, err := c.v6.WriteTo(b, cm, to)
	return err
}

// Close closes the sockets.
func (c *pollConn) Close() error {
	err := c.v4.Close()
	if c.v6 != nil {
		err = errors.Join(err, c.v6.Close())
	}
	return err
}
