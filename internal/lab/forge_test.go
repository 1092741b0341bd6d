package lab

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

var (
	forgerMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x66}
	victimMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	primaryMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	primary6   = netip.MustParseAddr("2001:db8::1")
	victim6    = netip.MustParseAddr("2001:db8::2")
)

// A forged request, unicast to the victim, is what failoverd reads as
// the primary's address at the primary's MAC.
func TestARPFrameIsWhatFailoverdReads(t *testing.T) {
	b := ARPFrame(ARPRequest, primaryMAC, watchedIP, net.HardwareAddr{0, 0, 0, 0, 0, 0}, otherIP, victimMAC)
	if len(b) != ethLen+arpLen || !bytes.Equal(b[0:6], victimMAC) || !bytes.Equal(b[6:12], primaryMAC) || binary.BigEndian.Uint16(b[12:14]) != 0x0806 {
		t.Fatalf("Ethernet header of %x: want to %v from %v, ARP", b, victimMAC, primaryMAC)
	}
	p, err := neighbor.ParseARP(b[ethLen:])
	if err != nil {
		t.Fatal(err)
	}
	if p.Op != ARPRequest || !bytes.Equal(p.SenderMAC, primaryMAC) || p.SenderIP != watchedIP || p.TargetIP != otherIP {
		t.Errorf("parsed %+v", p)
	}
}

// A forged advertisement passes what the kernel and failoverd check: hop
// limit 255, the ICMPv6 checksum, the target and its link-layer address.
func TestNAFrameIsWhatFailoverdReads(t *testing.T) {
	b := NAFrame(forgerMAC, victimMAC, primary6, victim6, primary6, primaryMAC, NASolicited|NAOverride)
	if !bytes.Equal(b[0:6], victimMAC) || !bytes.Equal(b[6:12], forgerMAC) || binary.BigEndian.Uint16(b[12:14]) != 0x86dd {
		t.Fatalf("Ethernet header of %x", b[:ethLen])
	}
	ip := b[ethLen:]
	payload := ip[ipv6Len:]
	if ip[0]>>4 != 6 || int(binary.BigEndian.Uint16(ip[4:6])) != len(payload) || ip[6] != 58 || ip[7] != 255 {
		t.Fatalf("IPv6 header %x: want version 6, payload length %d, ICMPv6, hop limit 255", ip[:ipv6Len], len(payload))
	}
	if src, dst := netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40])); src != primary6 || dst != victim6 {
		t.Errorf("from %v to %v", src, dst)
	}
	// The one's complement sum over the pseudo-header and the message,
	// checksum included, is all ones.
	var sum uint32
	add := func(p []byte) {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(p[i:]))
		}
		if len(p)%2 == 1 {
			sum += uint32(p[len(p)-1]) << 8
		}
	}
	add(ip[8:40])
	add(binary.BigEndian.AppendUint32(nil, uint32(len(payload))))
	add([]byte{0, 0, 0, 58})
	add(payload)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Errorf("checksum does not add up: %#x", sum)
	}
	target, mac, err := neighbor.ParseNA(payload)
	if err != nil {
		t.Fatal(err)
	}
	if target != primary6 || !bytes.Equal(mac, primaryMAC) || payload[4] != NASolicited|NAOverride {
		t.Errorf("target %v at %v, flags %#x", target, mac, payload[4])
	}
}
