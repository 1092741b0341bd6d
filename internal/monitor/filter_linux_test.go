package monitor

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/net/bpf"
)

// filtered is one datagram as a socket filter sees it: the interface it
// came in on, its IP header and its UDP payload.
type filtered struct {
	ifindex uint32
	src     string
	ip      []byte // the IP header (IPv4: 20 bytes, IPv6: 40)
	payload []byte
}

// datagram4 and datagram6 build a datagram from src on interface ifindex.
func datagram4(ifindex uint32, src string, payload string) filtered {
	ip := make([]byte, 20)
	ip[0] = 0x45
	a := netip.MustParseAddr(src).As4()
	copy(ip[12:], a[:])
	return filtered{ifindex, src, ip, []byte(payload)}
}

func datagram6(ifindex uint32, src string, payload string) filtered {
	ip := make([]byte, 40)
	ip[0] = 0x60
	a := netip.MustParseAddr(src).As16()
	copy(ip[8:], a[:])
	return filtered{ifindex, src, ip, []byte(payload)}
}

// passes runs prog as the kernel runs a UDP socket's classic BPF filter
// (offset 0 is the UDP header, SKF_NET_OFF the IP header, SKF_AD_IFINDEX
// the interface) over d, for the instructions socketFilter uses; a nil
// program passes everything.
func passes(t *testing.T, prog []bpf.RawInstruction, d filtered) bool {
	t.Helper()
	if prog == nil {
		return true
	}
	const (
		netOff  = 0x100000 // -SKF_NET_OFF
		adOff   = 0x1000   // -SKF_AD_OFF
		ifIndex = 8        // SKF_AD_IFINDEX
	)
	udp := append(make([]byte, 8), d.payload...)
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Op {
		case 0x20: // ld [k], a word
			off := int64(int32(ins.K))
			data := udp
			switch {
			case off == -adOff+ifIndex:
				a = d.ifindex
				continue
			case off < -adOff:
				data, off = d.ip, off+netOff
			}
			if off < 0 || off+4 > int64(len(data)) {
				return false // the kernel's filter returns 0 out of bounds
			}
			a = binary.BigEndian.Uint32(data[off:])
		case 0x54: // and #k
			a &= ins.K
		case 0x05: // ja
			pc += int(ins.K)
		case 0x15: // jeq #k
			if a == ins.K {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case 0x06: // ret #k
			return ins.K != 0
		default:
			t.Fatalf("instruction %d: op %#x, which this test's interpreter does not know", pc, ins.Op)
		}
	}
	t.Fatalf("the filter ran off its end: %v", prog)
	return false
}

const heartbeatStart = "IPFO\x01\x01\x00\x06"

// The socket for every other interface (while a link's interface is
// missing) drops what came in on the links' interfaces, all of them: the
// links' own sockets took it, and a broadcast would be heard twice.
func TestFilterDropsWhatCameOnTheLinksInterfaces(t *testing.T) {
	peers := []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("198.51.100.0/24")}
	v4, err := socketFilter([]uint32{2, 3}, peers, true, true)
	if err != nil {
		t.Fatal(err)
	}
	v6, err := socketFilter([]uint32{2, 3}, peers, false, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prog []bpf.RawInstruction
		d    filtered
		pass bool
	}{
		{v4, datagram4(2, "192.0.2.1", heartbeatStart), false},
		{v4, datagram4(3, "198.51.100.7", heartbeatStart), false},
		{v4, datagram4(4, "192.0.2.1", heartbeatStart), true},
		{v4, datagram4(4, "198.51.100.7", heartbeatStart), true},
		{v6, datagram6(2, "2001:db8::1", heartbeatStart), false},
		{v6, datagram6(3, "2001:db8::1", heartbeatStart), false},
		// IPv6: no source check in the kernel (the peers' addresses are
		// IPv4 here); the monitor checks it.
		{v6, datagram6(4, "2001:db8::1", "anything"), true},
	} {
		if got := passes(t, c.prog, c.d); got != c.pass {
			t.Errorf("from %s on interface %d: passes %v, want %v", c.d.src, c.d.ifindex, got, c.pass)
		}
	}
}

// A socket with nothing to filter gets no filter: an IPv6 link socket
// (its peers are IPv4) pays for no program on each packet.
func TestNoFilterWhenThereIsNothingToFilter(t *testing.T) {
	peers := []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
	for _, exclude := range [][]uint32{nil, {}} {
		prog, err := socketFilter(exclude, peers, false, true)
		if err != nil || prog != nil {
			t.Errorf("an IPv6 socket that excludes %v: filter %v (%v), want none", exclude, prog, err)
		}
	}
}

// A link socket's filter passes the peers' addresses and subnets and, with
// needMagic, only what starts like a heartbeat; a peer written as an
// IPv4-mapped IPv6 prefix counts as its IPv4 prefix.
func TestFilterPassesThePeersOnly(t *testing.T) {
	peers := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("::ffff:198.51.100.0/120"),
		netip.MustParsePrefix("2001:db8::/64"),
	}
	magic, err := socketFilter(nil, peers, true, true)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := socketFilter(nil, peers, true, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		src, payload  string
		magic, legacy bool
	}{
		{"192.0.2.1", heartbeatStart, true, true},
		{"192.0.2.1", "heartbeat", false, true},
		{"192.0.2.2", heartbeatStart, false, false},
		{"198.51.100.7", heartbeatStart, true, true},
		{"198.51.100.255", "heartbeat", false, true},
		{"198.51.101.7", heartbeatStart, false, false},
	} {
		d := datagram4(2, c.src, c.payload)
		if got := passes(t, magic, d); got != c.magic {
			t.Errorf("%q from %s, magic needed: passes %v, want %v", c.payload, c.src, got, c.magic)
		}
		if got := passes(t, legacy, d); got != c.legacy {
			t.Errorf("%q from %s, legacy: passes %v, want %v", c.payload, c.src, got, c.legacy)
		}
	}
}

// The most addresses a filter's jumps can pass over (a block of 255
// instructions: 126 addresses and one subnet) make a filter that passes
// every one of them, the first as well as the last.
func TestTheLargestFilterPassesEveryPeer(t *testing.T) {
	var peers []netip.Prefix
	for i := range 126 {
		peers = append(peers, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 32))
	}
	peers = append(peers, netip.MustParsePrefix("198.51.100.0/24"))
	prog, err := socketFilter(nil, peers, true, true)
	if err != nil {
		t.Fatalf("126 addresses and a subnet: %v", err)
	}
	for _, src := range []string{"192.0.2.1", "192.0.2.64", "192.0.2.126", "198.51.100.9"} {
		if !passes(t, prog, datagram4(2, src, heartbeatStart)) {
			t.Errorf("a heartbeat from %s was dropped", src)
		}
	}
	for _, src := range []string{"192.0.2.127", "192.0.2.200", "198.51.101.9"} {
		if passes(t, prog, datagram4(2, src, heartbeatStart)) {
			t.Errorf("a heartbeat from %s passed", src)
		}
	}
}
