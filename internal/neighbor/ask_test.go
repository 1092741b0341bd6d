package neighbor

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

func TestARPProbeGolden(t *testing.T) {
	got, err := ARPProbe(testMAC, netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	// A request from sender protocol address 0.0.0.0, target hardware
	// address zero (RFC 5227 2.1.1).
	want := unhex(t, "0001 0800 06 04 0001 02005e102030 00000000 000000000000 c000020a")
	if !bytes.Equal(got, want) {
		t.Errorf("probe:\n got %x\nwant %x", got, want)
	}
	if _, err := ARPProbe(testMAC, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("IPv6 address accepted")
	}
}

func TestParseARP(t *testing.T) {
	// Linux's answer to a probe: a reply to the prober's MAC and to
	// 0.0.0.0, in a frame padded to Ethernet's minimum.
	reply := unhex(t, "0001 0800 06 04 0002 020000000001 c6336401 02005e102030 00000000"+strings.Repeat("00", 18))
	p, err := ParseARP(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := ARP{
		Op:        ARPReply,
		SenderMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		SenderIP:  netip.MustParseAddr("198.51.100.1"),
		TargetMAC: testMAC,
		TargetIP:  netip.IPv4Unspecified(),
	}
	if p.Op != want.Op || p.SenderMAC.String() != want.SenderMAC.String() || p.SenderIP != want.SenderIP ||
		p.TargetMAC.String() != want.TargetMAC.String() || p.TargetIP != want.TargetIP {
		t.Errorf("parsed %+v, want %+v", p, want)
	}
	probe, _ := ARPProbe(testMAC, netip.MustParseAddr("192.0.2.10"))
	for name, b := range map[string][]byte{
		"short":         probe[:ARPLen-1],
		"not Ethernet":  append([]byte{0, 6}, probe[2:]...),
		"not IPv4":      append(append(append([]byte(nil), probe[:2]...), 0x86, 0xdd), probe[4:]...),
		"wrong lengths": append(append(append([]byte(nil), probe[:4]...), 6, 16), probe[6:]...),
		"operation 3":   append(append(append([]byte(nil), probe[:6]...), 0, 3), probe[8:]...),
	} {
		if _, err := ParseARP(b); err == nil {
			t.Errorf("%s: accepted %x", name, b)
		}
	}
}

func TestNeighborSolicitationGolden(t *testing.T) {
	got, err := NeighborSolicitation(testMAC, netip.MustParseAddr("2001:db8::10"))
	if err != nil {
		t.Fatal(err)
	}
	// type 135, code 0, checksum 0 (the kernel's), reserved, target,
	// option 1 (source link-layer), length 1, MAC.
	want := unhex(t, "87000000 00000000 20010db8000000000000000000000010 0101 02005e102030")
	if !bytes.Equal(got, want) {
		t.Errorf("NS:\n got %x\nwant %x", got, want)
	}
	if _, err := NeighborSolicitation(testMAC, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("IPv4 address accepted")
	}
}

func TestSolicitedNode(t *testing.T) {
	for ip, want := range map[string]string{
		"2001:db8::1":              "ff02::1:ff00:1",
		"fe80::200:5eff:fe10:2030": "ff02::1:ff10:2030",
	} {
		if got := SolicitedNode(netip.MustParseAddr(ip)); got.String() != want {
			t.Errorf("SolicitedNode(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestParseNA(t *testing.T) {
	// A solicited NA as Linux sends it (S and O set), with a nonce-like
	// option of another type before the target link-layer address.
	na := unhex(t, "88001234 60000000 20010db8000000000000000000000001 0e01 000000000000 0201 020000000001")
	target, mac, err := ParseNA(na)
	if err != nil {
		t.Fatal(err)
	}
	if target != netip.MustParseAddr("2001:db8::1") || mac.String() != "02:00:00:00:00:01" {
		t.Errorf("parsed %s %s", target, mac)
	}
	own, _ := UnsolicitedNA(testMAC, netip.MustParseAddr("2001:db8::10"))
	if target, mac, err := ParseNA(own); err != nil || target != netip.MustParseAddr("2001:db8::10") || !bytes.Equal(mac, testMAC) {
		t.Errorf("UnsolicitedNA read back as %s %s %v", target, mac, err)
	}
	ns, _ := NeighborSolicitation(testMAC, netip.MustParseAddr("2001:db8::10"))
	for name, b := range map[string][]byte{
		"solicitation":      ns,
		"short":             na[:ndLen-1],
		"no option":         na[:ndLen],
		"zero-length":       append(na[:ndLen:ndLen], 2, 0, 0, 0, 0, 0, 0, 0),
		"option past end":   append(na[:ndLen:ndLen], 2, 2, 2, 0, 0, 0, 0, 1),
		"only a long TLLA":  append(na[:ndLen:ndLen], 2, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
		"code 1":            append([]byte{0x88, 1}, na[2:]...),
		"truncated options": na[:len(na)-1],
	} {
		if _, _, err := ParseNA(b); err == nil {
			t.Errorf("%s: accepted %x", name, b)
		}
	}
}

func FuzzParseARP(f *testing.F) {
	probe, _ := ARPProbe(testMAC, netip.MustParseAddr("192.0.2.10"))
	reply, _ := GratuitousARP(ARPReply, testMAC, netip.MustParseAddr("192.0.2.10"))
	f.Add(probe)
	f.Add(append(reply, 0, 0, 0))
	f.Add([]byte{0, 1, 8, 0, 6, 4, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseARP(b)
		if err != nil {
			return
		}
		again, err := p.Marshal()
		if err != nil || !bytes.Equal(again, b[:ARPLen]) {
			t.Errorf("%x parsed as %+v, marshalled back as %x (%v)", b, p, again, err)
		}
	})
}

func FuzzParseNA(f *testing.F) {
	na, _ := UnsolicitedNA(testMAC, netip.MustParseAddr("2001:db8::10"))
	ns, _ := NeighborSolicitation(testMAC, netip.MustParseAddr("2001:db8::10"))
	f.Add(na)
	f.Add(ns)
	f.Add(append(na[:ndLen:ndLen], 1, 1, 0, 0, 0, 0, 0, 0, 2, 1, 1, 2, 3, 4, 5, 6))
	f.Fuzz(func(t *testing.T, b []byte) {
		target, mac, err := ParseNA(b)
		if err != nil {
			return
		}
		if !bytes.Equal(target.AsSlice(), b[8:24]) || len(mac) != 6 {
			t.Errorf("%x parsed as %s %s", b, target, mac)
		}
	})
}
