// Package netif takes a snapshot of the host's interfaces and answers the
// questions both daemons ask of it: which link reaches a heartbeat
// target, and which subnet is nearest when none does.
package netif

import (
	"fmt"
	"net"
	"net/netip"
)

// Addr is one address on an interface, with its subnet's broadcast
// address (IPv4 only; invalid for IPv6).
type Addr struct {
	Prefix    netip.Prefix // the address with its prefix length, e.g. 10.0.0.2/16
	Broadcast netip.Addr
}

// Interface is one network interface as seen at snapshot time.
type Interface struct {
	Name    string
	Index   int
	Up      bool // administratively up
	Running bool // up with carrier: a cable is in and the far end is up
	MAC     net.HardwareAddr
	Addrs   []Addr
}

// Snapshot lists the host's interfaces and their addresses.
func Snapshot() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
		}
		it := Interface{Name: ifi.Name, Index: ifi.Index, Up: ifi.Flags&net.FlagUp != 0,
			Running: ifi.Flags&net.FlagRunning != 0, MAC: ifi.HardwareAddr}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			it.Addrs = append(it.Addrs, NewAddr(netip.PrefixFrom(ip.Unmap(), ones)))
		}
		out = append(out, it)
	}
	return out, nil
}

// NewAddr returns p with its conventional broadcast address (IPv4 with a
// prefix shorter than /31).
func NewAddr(p netip.Prefix) Addr {
	a := Addr{Prefix: p}
	if p.Addr().Is4() && p.Bits() < 31 {
		a.Broadcast = BroadcastOf(p)
	}
	return a
}

// BroadcastOf returns the all-ones host address of p's subnet.
func BroadcastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Kind says how a target relates to a link.
type Kind int

// How a target is reached.
const (
	NoLink    Kind = iota // no subnet on any interface holds it
	Broadcast             // it is the broadcast address of the link's subnet
	Unicast               // it is a host on the link's subnet
	Local                 // it is one of this host's own addresses
)

// Route is the link a target is reached on.
type Route struct {
	Kind      Kind
	Interface Interface
	Addr      Addr // the local address on the target's subnet: the source
}

// Find returns the link that reaches target directly: an interface with a
// subnet whose broadcast address is target, or that holds target as a
// host. Interfaces that are up win over interfaces that are down, and a
// broadcast match over a host match.
func Find(ifs []Interface, target netip.Addr) Route {
	best := Route{}
	score := func(r Route) int {
		s := map[Kind]int{NoLink: 0, Unicast: 1, Broadcast: 2, Local: 3}[r.Kind]
		if r.Interface.Up {
			s += 10
		}
		return s
	}
	for _, it := range ifs {
		for _, a := range it.Addrs {
			var k Kind
			switch {
			case a.Prefix.Addr() == target:
				k = Local
			case a.Broadcast.IsValid() && a.Broadcast == target:
				k = Broadcast
			case a.Prefix.Masked().Contains(target):
				k = Unicast
			default:
				continue
			}
			r := Route{Kind: k, Interface: it, Addr: a}
			if score(r) > score(best) {
				best = r
			}
		}
	}
	return best
}

// Closest returns the interface and address whose address shares the
// longest prefix with target, among interfaces that are up and addresses
// of target's family; ok is false when there is none.
func Closest(ifs []Interface, target netip.Addr) (Interface, Addr, bool) {
	var (
		bestIf   Interface
		bestAddr Addr
		bestLen  = -1
	)
	for _, it := range ifs {
		if !it.Up {
			continue
		}
		for _, a := range it.Addrs {
			addr := a.Prefix.Addr()
			if addr.Is4() != target.Is4() || addr.IsLoopback() || addr.IsLinkLocalUnicast() {
				continue
			}
			if n := commonBits(addr, target); n > bestLen {
				bestIf, bestAddr, bestLen = it, a, n
			}
		}
	}
	return bestIf, bestAddr, bestLen >= 0
}

func commonBits(a, b netip.Addr) int {
	x, y := a.AsSlice(), b.AsSlice()
	n := 0
	for i := range x {
		d := x[i] ^ y[i]
		if d == 0 {
			n += 8
			continue
		}
		for d&0x80 == 0 {
			n++
			d <<= 1
		}
		break
	}
	return n
}

// NarrowerBroadcast reports the prefix length k, with p.Bits() < k <= 25,
// for which target is the broadcast address of target/k, if any. Such an
// address inside p's subnet, say 10.0.0.255 inside 10.0.0.0/16, is almost
// always the broadcast address of a narrower subnet written for a link
// that is really wider, so nothing on the link hears it as broadcast.
func NarrowerBroadcast(p netip.Prefix, target netip.Addr) (int, bool) {
	if !target.Is4() || !p.Addr().Is4() {
		return 0, false
	}
	for k := p.Bits() + 1; k <= 25; k++ {
		if BroadcastOf(netip.PrefixFrom(target, k)) == target {
			return k, true
		}
	}
	return 0, false
}

// Names lists the names of the host's interfaces now.
func Names() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]string, len(ifs))
	for i, ifi := range ifs {
		out[i] = ifi.Name
	}
	return out, nil
}
