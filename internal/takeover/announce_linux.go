package takeover

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

const ethPARP = 0x0806

func htons(v uint16) uint16 { return v<<8 | v>>8 }

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
	// Protocol 0: the socket receives nothing; each frame names ARP as
	// its protocol in the destination address.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, permission("open ARP socket", "CAP_NET_RAW", err)
		}
		return nil, fmt.Errorf("open ARP socket: %w", err)
	}
	a := &linkAnnouncer{arpFD: fd}
	c, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		a.naErr = fmt.Errorf("open ICMPv6 socket: %w", err)
		return a, nil
	}
	a.na = c.IPv6PacketConn()
	// Receive nothing on it.
	var f ipv6.ICMPFilter
	f.SetAll(true)
	_ = a.na.SetICMPFilter(&f)
	_ = a.na.SetMulticastLoopback(false)
	_ = a.na.SetMulticastHopLimit(255)
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
	to := &unix.SockaddrLinklayer{Protocol: htons(ethPARP), Ifindex: ifi.Index, Halen: 6}
	copy(to.Addr[:], EthernetBroadcast)
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
	cm := &ipv6.ControlMessage{IfIndex: ifi.Index, Src: ip.AsSlice(), HopLimit: 255}
	if _, err := a.na.WriteTo(msg, cm, &net.IPAddr{IP: AllNodes.AsSlice()}); err != nil {
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
