package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/netif"
)

// The grammar of values: durations, booleans, addresses, interface:address
// pairs and their masks.

// Pair is one interface:pub_addr[/mask] of the original: a public address
// of the primary that the secondary takes over on Interface.
type Pair struct {
	Interface string
	Addr      netip.Addr
	// Bits is the prefix length given after the address, or -1 when the
	// mask was left blank.
	Bits int
}

func (p Pair) String() string {
	a := p.Addr.String()
	if p.Addr.Is6() {
		a = "[" + a + "]"
	}
	if p.Bits >= 0 {
		return fmt.Sprintf("%s:%s/%d", p.Interface, a, p.Bits)
	}
	return p.Interface + ":" + a
}

// Prefix is the prefix the address is installed with. By the original's
// rule the mask is blank or /32 when the address is on the interface's
// own subnet: it is then added as a host address (/32, IPv6 /128), so
// the interface's own address stays the one that owns the subnet's
// route. A mask given for an address on another subnet is installed as
// given, which adds that subnet's route on the interface.
func (p Pair) Prefix() netip.Prefix {
	bits := p.Bits
	if bits < 0 {
		bits = p.Addr.BitLen()
	}
	return netip.PrefixFrom(p.Addr, bits)
}

func validFacility(f string) bool {
	switch f {
	case "daemon", "auth", "user":
		return true
	}
	n, ok := strings.CutPrefix(f, "local")
	return ok && len(n) == 1 && n[0] >= '0' && n[0] <= '7'
}

// parseDuration takes a Go duration (1s, 250ms, 1m30s) or a bare number
// of seconds, as a shell-era config would have it.
func parseDuration(v string) (time.Duration, *valueError) {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || secs < 0 || secs > 86400 {
			return 0, &valueError{"not a duration", "write seconds (2, 0.5) or a duration such as 1s, 250ms or 1m"}
		}
		d = time.Duration(secs * float64(time.Second))
	}
	return d, nil
}

func parseBool(v string) (bool, *valueError) {
	switch strings.ToLower(v) {
	case "-yes-", "yes", "true", "on", "1":
		return true, nil
	case "-no-", "no", "false", "off", "0":
		return false, nil
	}
	return false, &valueError{"not -YES- or -NO-", "write -YES- or -NO-"}
}

func formatBool(b bool) string {
	if b {
		return "-YES-"
	}
	return "-NO-"
}

// parseAddr parses one address that must serve as use.
func parseAddr(v string, use addrUse) (netip.Addr, *valueError) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, &valueError{"not an IP address", "write one address such as 10.0.0.1"}
	}
	a = a.Unmap()
	if verr := unusable(a, use); verr != nil {
		return netip.Addr{}, verr
	}
	return a, nil
}

// parseAddrList splits on spaces and commas; each address must serve as use.
func parseAddrList(v string, use addrUse) ([]netip.Addr, *valueError) {
	var out []netip.Addr
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, &valueError{fmt.Sprintf("%s is not an IP address", quoted(f)), "list addresses separated by spaces, such as \"10.0.0.255 198.51.100.255\""}
		}
		a = a.Unmap()
		if verr := unusable(a, use); verr != nil {
			return nil, verr
		}
		out = append(out, a)
	}
	return out, nil
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parsePairs(v string) ([]Pair, *valueError) {
	var out []Pair
	for _, f := range strings.Fields(v) {
		p, err := parsePair(f)
		if err != nil {
			ifname := exampleInterface()
			return nil, &valueError{err.Error(), "write interface:address[/mask], such as " + ifname + ":198.51.100.10 or " + ifname + ":[2001:db8::10]/64"}
		}
		if verr := unusable(p.Addr, usePublic); verr != nil {
			return nil, &valueError{fmt.Sprintf("%s: %s", quoted(f), verr.problem), verr.hint}
		}
		if pfx := p.Prefix(); p.Addr.Is4() && pfx.Bits() < 31 && p.Addr == netif.BroadcastOf(pfx) {
			return nil, &valueError{fmt.Sprintf("%s: %s is the broadcast address of %s, not one host's", quoted(f), p.Addr, pfx.Masked()), useHint(p.Addr, usePublic)}
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePair parses interface:pub_addr[/mask]. The mask is a prefix length
// or a dotted IPv4 netmask; an IPv6 address goes in brackets.
func parsePair(s string) (Pair, error) {
	ifname, rest, ok := strings.Cut(s, ":")
	if !ok || ifname == "" || rest == "" {
		return Pair{}, fmt.Errorf("%s is not interface:address", quoted(s))
	}
	if len(ifname) > 15 || strings.ContainsAny(ifname, "/ ") {
		return Pair{}, fmt.Errorf("%s is not an interface name", quoted(ifname))
	}
	addrPart, mask := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Pair{}, fmt.Errorf("%s: '[' without ']'", quoted(s))
		}
		addrPart = rest[1:end]
		after := rest[end+1:]
		if after != "" {
			m, ok := strings.CutPrefix(after, "/")
			if !ok {
				return Pair{}, fmt.Errorf("%s: unexpected %s after the address", quoted(s), quoted(after))
			}
			mask = m
		}
	} else if a, m, ok := strings.Cut(rest, "/"); ok {
		addrPart, mask = a, m
	}
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" {
		return Pair{}, fmt.Errorf("%s: %s is not an IP address", quoted(s), quoted(addrPart))
	}
	addr = addr.Unmap()
	if addr.Is6() && !strings.HasPrefix(rest, "[") {
		return Pair{}, fmt.Errorf("%s: put an IPv6 address in brackets, as %s:[%s]", quoted(s), ifname, addr)
	}
	p := Pair{Interface: ifname, Addr: addr, Bits: -1}
	if mask == "" {
		if strings.Contains(rest, "/") {
			return Pair{}, fmt.Errorf("%s: empty mask after '/'", quoted(s))
		}
		return p, nil
	}
	if n, err := strconv.Atoi(mask); err == nil {
		if n < 0 || n > addr.BitLen() {
			return Pair{}, fmt.Errorf("%s: mask /%d is out of range for this address", quoted(s), n)
		}
		p.Bits = n
		return p, nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() || !addr.Is4() {
		return Pair{}, fmt.Errorf("%s: %s is not a mask", quoted(s), quoted(mask))
	}
	bits, ok := maskBits(m)
	if !ok {
		return Pair{}, fmt.Errorf("%s: %s is not a contiguous netmask", quoted(s), mask)
	}
	p.Bits = bits
	return p, nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}
