package lab

import (
	"encoding/binary"
	"net"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// Frames an attacker on the link sends: ARP and neighbour advertisements
// that name an address at a MAC of the attacker's choosing. The lab
// builds them itself rather than with internal/neighbor, whose own tests
// use the lab.

// EthernetBroadcast is the destination of a frame to every host on the
// link.
var EthernetBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARPFrame builds the Ethernet frame of an Ethernet/IPv4 ARP packet from
// senderMAC (also the frame's source) to dst.
func ARPFrame(op uint16, senderMAC net.HardwareAddr, senderIP netip.Addr, targetMAC net.HardwareAddr, targetIP netip.Addr, dst net.HardwareAddr) []byte {
	b := ethernet(make([]byte, 0, ethLen+arpLen), dst, senderMAC, 0x0806)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware type: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol type: IPv4
	b = append(b, 6, 4)                          // address lengths
	b = binary.BigEndian.AppendUint16(b, op)
	s, t := senderIP.As4(), targetIP.As4()
	b = append(b, senderMAC...)
	b = append(b, s[:]...)
	b = append(b, targetMAC...)
	return append(b, t[:]...)
}

// NA flags (RFC 4861 4.4).
const (
	NASolicited = 0x40
	NAOverride  = 0x20
)

// ipv6Len is the length of the IPv6 header.
const ipv6Len = 40

// NAFrame builds the Ethernet frame of an ICMPv6 neighbour advertisement
// from src to dst (IPv6, hop limit 255 as RFC 4861 7.1.2 wants, checksum
// filled in) saying target is at targetMAC, with flags (NASolicited,
// NAOverride) and the target link-layer address option. The frame goes
// from srcMAC to dstMAC.
func NAFrame(srcMAC, dstMAC net.HardwareAddr, src, dst, target netip.Addr, targetMAC net.HardwareAddr, flags byte) []byte {
	body := []byte{flags, 0, 0, 0}
	t := target.As16()
	body = append(body, t[:]...)
	body = append(body, 2, 1) // target link-layer address, 8 bytes
	body = append(body, targetMAC...)
	m := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
	payload, err := m.Marshal(icmp.IPv6PseudoHeader(src.AsSlice(), dst.AsSlice()))
	if err != nil {
		panic(err) // a raw body always marshals
	}
	b := ethernet(make([]byte, 0, ethLen+ipv6Len+len(payload)), dstMAC, srcMAC, 0x86dd)
	b = append(b, 6<<4, 0, 0, 0) // version 6, no traffic class or flow label
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	b = append(b, 58, 255) // next header ICMPv6, hop limit 255
	s, d := src.As16(), dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	return append(b, payload...)
}

// ethernet appends an Ethernet header to b.
func ethernet(b []byte, dst, src net.HardwareAddr, etherType uint16) []byte {
	b = append(b, dst...)
	b = append(b, src...)
	return binary.BigEndian.AppendUint16(b, etherType)
}

// SendARP sends an ARP packet (ARPFrame) from dev in ns.
func SendARP(ns *NS, dev string, op uint16, senderMAC net.HardwareAddr, senderIP netip.Addr, targetMAC net.HardwareAddr, targetIP netip.Addr, dst net.HardwareAddr) error {
	return SendFrame(ns, dev, ARPFrame(op, senderMAC, senderIP, targetMAC, targetIP, dst))
}

// SendNA sends a neighbour advertisement (NAFrame) from dev in ns.
func SendNA(ns *NS, dev string, srcMAC, dstMAC net.HardwareAddr, src, dst, target netip.Addr, targetMAC net.HardwareAddr, flags byte) error {
	return SendFrame(ns, dev, NAFrame(srcMAC, dstMAC, src, dst, target, targetMAC, flags))
}
