// Package takeover moves addresses between hosts: it adds and removes them
// and announces them to the link so that neighbours update their caches.
package takeover

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARPLen is the length of an Ethernet/IPv4 ARP packet.
const ARPLen = 28

var (
	// EthernetBroadcast is the destination of every gratuitous ARP frame.
	EthernetBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC           = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

// GratuitousARP builds the 28-byte ARP packet (without Ethernet header)
// that announces ip at mac. Sender and target protocol address are both
// ip. A request leaves the target hardware address zero (RFC 5227's
// announcement); a reply names the broadcast address there, which some
// hosts that ignore requests act on.
func GratuitousARP(op uint16, mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if op != ARPRequest && op != ARPReply {
		return nil, fmt.Errorf("arp: unknown operation %d", op)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("arp: hardware address %v is not Ethernet", mac)
	}
	if !ip.Is4() {
		return nil, fmt.Errorf("arp: %v is not an IPv4 address", ip)
	}
	target := zeroMAC
	if op == ARPReply {
		target = EthernetBroadcast
	}
	b := make([]byte, 0, ARPLen)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware type: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol type: IPv4
	b = append(b, 6, 4)                          // address lengths
	b = binary.BigEndian.AppendUint16(b, op)
	a := ip.As4()
	b = append(b, mac...)
	b = append(b, a[:]...)
	b = append(b, target...)
	b = append(b, a[:]...)
	return b, nil
}
