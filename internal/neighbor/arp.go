package neighbor

import (
	"encoding/binary"
	"errors"
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

// ARP is an Ethernet/IPv4 ARP packet (RFC 826).
type ARP struct {
	Op                   uint16
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr
}

// GratuitousARP builds the 28-byte ARP packet (without Ethernet header)
// that announces ip at mac. Sender and target protocol address are both
// ip. A request leaves the target hardware address zero (RFC 5227's
// announcement); a reply names the broadcast address there, which some
// hosts that ignore requests act on.
func GratuitousARP(op uint16, mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	target := zeroMAC
	if op == ARPReply {
		target = EthernetBroadcast
	}
	return ARP{Op: op, SenderMAC: mac, SenderIP: ip, TargetMAC: target, TargetIP: ip}.Marshal()
}

// ARPProbe builds the ARP request that asks who has ip without naming an
// address of this host (RFC 5227's probe): the sender protocol address is
// 0.0.0.0, so no neighbour adds or changes a cache entry for it. A holder
// of ip answers with a reply whose target protocol address is 0.0.0.0.
func ARPProbe(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	return ARP{Op: ARPRequest, SenderMAC: mac, SenderIP: netip.IPv4Unspecified(), TargetMAC: zeroMAC, TargetIP: ip}.Marshal()
}

// Marshal returns the 28-byte packet, without Ethernet header.
func (p ARP) Marshal() ([]byte, error) {
	if p.Op != ARPRequest && p.Op != ARPReply {
		return nil, fmt.Errorf("arp: unknown operation %d", p.Op)
	}
	if len(p.SenderMAC) != 6 || len(p.TargetMAC) != 6 {
		return nil, fmt.Errorf("arp: hardware address %v or %v is not Ethernet", p.SenderMAC, p.TargetMAC)
	}
	if !p.SenderIP.Is4() || !p.TargetIP.Is4() {
		return nil, fmt.Errorf("arp: %v or %v is not an IPv4 address", p.SenderIP, p.TargetIP)
	}
	b := make([]byte, 0, ARPLen)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware type: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol type: IPv4
	b = append(b, 6, 4)                          // address lengths
	b = binary.BigEndian.AppendUint16(b, p.Op)
	sip, tip := p.SenderIP.As4(), p.TargetIP.As4()
	b = append(b, p.SenderMAC...)
	b = append(b, sip[:]...)
	b = append(b, p.TargetMAC...)
	b = append(b, tip[:]...)
	return b, nil
}

var errNotARP = errors.New("arp: not an Ethernet/IPv4 ARP request or reply")

// ParseARP reads an Ethernet/IPv4 ARP request or reply from the start of
// b (frames are padded: what follows the 28 bytes is ignored).
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen || binary.BigEndian.Uint16(b[0:]) != 1 || binary.BigEndian.Uint16(b[2:]) != 0x0800 || b[4] != 6 || b[5] != 4 {
		return ARP{}, errNotARP
	}
	op := binary.BigEndian.Uint16(b[6:])
	if op != ARPRequest && op != ARPReply {
		return ARP{}, errNotARP
	}
	return ARP{
		Op:        op,
		SenderMAC: net.HardwareAddr(append([]byte(nil), b[8:14]...)),
		SenderIP:  netip.AddrFrom4([4]byte(b[14:18])),
		TargetMAC: net.HardwareAddr(append([]byte(nil), b[18:24]...)),
		TargetIP:  netip.AddrFrom4([4]byte(b[24:28])),
	}, nil
}
