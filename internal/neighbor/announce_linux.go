package neighbor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// linkAnnouncer sends gratuitous ARP on an AF_PACKET datagram socket (the
// kernel adds the Ethernet header from the interface's own address) and
// unsolicited neighbour advertisements on a raw ICMPv6 socket.
type linkAnnouncer struct {
	arpFD int
	na    *ipv6.PacketConn // nil when IPv6 is unavailable
	naErr error
}

// NewAnnouncer opens the sockets. It needs CAP_NET_RAW.
func NewAnnouncer() (Announcer, error) {
	fd, err := openPacketSocket(0)
	if err != nil {
		return nil, err
	}
	a := &linkAnnouncer{arpFD: fd}
	// Without IPv6 on this host only announcing IPv4 works.
	a.na, a.naErr = listenICMPv6()
	return a, nil
}

// Announce sends, for IPv4, an ARP request and an ARP reply for ip from
// ifi's MAC; for IPv6 an unsolicited neighbour advertisement to all nodes.
func (a *linkAnnouncer) Announce(ifi *net.Interface, ip netip.Addr) error {
	if ip.Is4() {
		return a.arp(ifi, ip)
	}
	return a.advertise(ifi, ip)
}

func (a *linkAnnouncer) arp(ifi *net.Interface, ip netip.Addr) error {
	to := arpBroadcast(ifi)
	for _, op := range []uint16{ARPRequest, ARPReply} {
		frame, err := GratuitousARP(op, ifi.HardwareAddr, ip)
		if err != nil {
			return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
		}
		if err := unix.Sendto(a.arpFD, frame, 0, to); err != nil {
			return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
		}
	}
	return nil
}

func (a *linkAnnouncer) advertise(ifi *net.Interface, ip netip.Addr) error {
	if a.na == nil {
		return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, a.naErr)
	}
	msg, err := UnsolicitedNA(ifi.HardwareAddr, ip)
	if err != nil {
		return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
	}
	if err := sendND(a.na, ifi, ip, AllNodes, msg); err != nil {
		return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
	}
	return nil
}

// Close closes the sockets.
func (a *linkAnnouncer) Close() error {
	err := unix.Close(a.arpFD)
	if a.na != nil {
		err = errors.Join(err, a.na.Close())
	}
	return err
}
