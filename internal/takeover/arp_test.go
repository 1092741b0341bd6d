package takeover

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

func TestGratuitousARPGolden(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	ip := netip.MustParseAddr("192.0.2.10")
	cases := []struct {
		op   uint16
		want string
	}{
		// htype 1, ptype 0800, hlen 6, plen 4, op, sha, spa, tha, tpa
		{ARPRequest, "0001 0800 06 04 0001 02005e102030 c000020a 000000000000 c000020a"},
		{ARPReply, "0001 0800 06 04 0002 02005e102030 c000020a ffffffffffff c000020a"},
	}
	for _, c := range cases {
		got, err := GratuitousARP(c.op, mac, ip)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(c.want), []byte(" "), nil)))
		if len(got) != ARPLen || !bytes.Equal(got, want) {
			t.Errorf("op %d:\n got %x\nwant %x", c.op, got, want)
		}
	}
}

func TestGratuitousARPRejects(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	if _, err := GratuitousARP(ARPRequest, mac, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("IPv6 address accepted")
	}
	if _, err := GratuitousARP(ARPRequest, net.HardwareAddr{1, 2, 3}, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("short MAC accepted")
	}
	if _, err := GratuitousARP(3, mac, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("operation 3 accepted")
	}
}
