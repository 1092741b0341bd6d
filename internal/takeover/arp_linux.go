package takeover

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

const ethPARP = 0x0806

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ARPAnnouncer sends gratuitous ARP on an AF_PACKET datagram socket; the
// kernel adds the Ethernet header from the interface's own address.
type ARPAnnouncer struct {
	fd int
}

// NewAnnouncer opens the packet socket. It needs CAP_NET_RAW.
func NewAnnouncer() (Announcer, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(ethPARP)))
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("open ARP socket: %w (gratuitous ARP needs CAP_NET_RAW: run as root or grant the capability)", os.ErrPermission)
		}
		return nil, fmt.Errorf("open ARP socket: %w", err)
	}
	// Receive nothing: the socket only sends.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 0)
	return &ARPAnnouncer{fd: fd}, nil
}

// Announce sends an ARP request and an ARP reply for ip from ifi's MAC.
func (a *ARPAnnouncer) Announce(ifi *net.Interface, ip netip.Addr) error {
	to := &unix.SockaddrLinklayer{Protocol: htons(ethPARP), Ifindex: ifi.Index, Halen: 6}
	copy(to.Addr[:], EthernetBroadcast)
	for _, op := range []uint16{ARPRequest, ARPReply} {
		frame, err := GratuitousARP(op, ifi.HardwareAddr, ip)
		if err != nil {
			return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
		}
		if err := unix.Sendto(a.fd, frame, 0, to); err != nil {
			return fmt.Errorf("announce %s on %s: %w", ip, ifi.Name, err)
		}
	}
	return nil
}

// Close closes the socket.
func (a *ARPAnnouncer) Close() error { return unix.Close(a.fd) }
