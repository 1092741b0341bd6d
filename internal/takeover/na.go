package takeover

import (
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

// UnsolicitedNA builds the ICMPv6 neighbour advertisement (RFC 4861
// 4.4) that announces ip at mac: Override set, Solicited clear, with the
// target link-layer address option. The checksum is left zero; the
// kernel fills it in on a raw ICMPv6 socket.
func UnsolicitedNA(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("na: hardware address %v is not Ethernet", mac)
	}
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("na: %v is not an IPv6 address", ip)
	}
	body := make([]byte, 0, 4+16+8)
	body = append(body, naOverride, 0, 0, 0)
	a := ip.As16()
	body = append(body, a[:]...)
	body = append(body, 2, 1) // option: target link-layer address, 8 bytes
	body = append(body, mac...)
	m := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
	return m.Marshal(nil)
}
