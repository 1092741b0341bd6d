package neighbor

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

func TestUnsolicitedNAGolden(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}
	got, err := UnsolicitedNA(mac, netip.MustParseAddr("2001:db8::10"))
	if err != nil {
		t.Fatal(err)
	}
	// type 136, code 0, checksum 0 (the kernel's), flags O, reserved,
	// target 2001:db8::10, option 2 (target link-layer), length 1, MAC.
	want, _ := hex.DecodeString("88000000" + "20000000" +
		"20010db8000000000000000000000010" + "0201" + "02005e102030")
	if !bytes.Equal(got, want) {
		t.Errorf("NA:\n got %x\nwant %x", got, want)
	}
	if _, err := UnsolicitedNA(mac, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("IPv4 address accepted")
	}
}
