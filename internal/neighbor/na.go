package neighbor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// AllNodes is where unsolicited neighbour advertisements go.
var AllNodes = netip.MustParseAddr("ff02::1")

// naOverride is the O flag of a neighbour advertisement: replace what the
// neighbour has cached.
const naOverride = 0x20

// Neighbour discovery options (RFC 4861 4.6.1).
const (
	optSourceLinkAddr = 1
	optTargetLinkAddr = 2
)

// ndLen is the length of a neighbour solicitation or advertisement
// without options: ICMPv6 header, flags and reserved, target.
const ndLen = 4 + 4 + 16

// UnsolicitedNA builds the ICMPv6 neighbour advertisement (RFC 4861
// 4.4) that announces ip at mac: Override set, Solicited clear, with the
// target link-layer address option. The checksum is left zero; the
// kernel fills it in on a raw ICMPv6 socket.
func UnsolicitedNA(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	return ndMessage(ipv6.ICMPTypeNeighborAdvertisement, naOverride, ip, optTargetLinkAddr, mac)
}

// NeighborSolicitation builds the ICMPv6 neighbour solicitation (RFC 4861
// 4.3) that asks who has target, with mac as the source link-layer
// address option so that the holder can answer without asking back. It
// goes to SolicitedNode(target), with hop limit 255.
func NeighborSolicitation(mac net.HardwareAddr, target netip.Addr) ([]byte, error) {
	return ndMessage(ipv6.ICMPTypeNeighborSolicitation, 0, target, optSourceLinkAddr, mac)
}

// ndMessage builds a neighbour solicitation or advertisement about
// target: flags in the first byte of the body, and one link-layer address
// option of type opt carrying mac. The checksum is left to the kernel.
func ndMessage(typ ipv6.ICMPType, flags byte, target netip.Addr, opt byte, mac net.HardwareAddr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("%v: hardware address %v is not Ethernet", typ, mac)
	}
	if !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("%v: %v is not an IPv6 address", typ, target)
	}
	body := make([]byte, 0, ndLen-4+8)
	body = append(body, flags, 0, 0, 0)
	a := target.As16()
	body = append(body, a[:]...)
	body = append(body, opt, 1) // 1: 8 bytes, type, length and the MAC
	body = append(body, mac...)
	m := icmp.Message{Type: typ, Body: &icmp.RawBody{Data: body}}
	return m.Marshal(nil)
}

// SolicitedNode is the solicited-node multicast address of ip (RFC 4291
// 2.7.1): ff02::1:ff and its last 24 bits. Only the holders of addresses
// ending in those bits listen on it.
func SolicitedNode(ip netip.Addr) netip.Addr {
	a := ip.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 1, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]})
}

// ParseNA reads a neighbour advertisement (the ICMPv6 message, as a raw
// ICMPv6 socket returns it) and returns its target and the MAC of its
// target link-layer address option. An advertisement without that option
// names no MAC, and is an error here.
func ParseNA(b []byte) (target netip.Addr, mac net.HardwareAddr, err error) {
	if len(b) < ndLen || b[0] != byte(ipv6.ICMPTypeNeighborAdvertisement) || b[1] != 0 {
		return netip.Addr{}, nil, errors.New("na: not a neighbour advertisement")
	}
	target = netip.AddrFrom16([16]byte(b[8:24]))
	for opts := b[ndLen:]; len(opts) > 0; {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return netip.Addr{}, nil, errors.New("na: malformed option")
		}
		n := int(opts[1]) * 8
		if opts[0] == optTargetLinkAddr && n == 8 {
			mac = net.HardwareAddr(append([]byte(nil), opts[2:8]...))
		}
		opts = opts[n:]
	}
	if mac == nil {
		return netip.Addr{}, nil, errors.New("na: no target link-layer address")
	}
	return target, mac, nil
}
