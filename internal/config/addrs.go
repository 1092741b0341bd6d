package config

import (
	"net/netip"
	"runtime"
)

// addrUse says what an address in the configuration is for; each use
// rules out the kinds of address that cannot serve it.
type addrUse int

const (
	useTarget addrUse = iota // a heartbeat target: a link's broadcast address or the secondary's
	usePeer                  // the primary's private address
	usePublic                // a public address of the primary, to take over
)

var (
	limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	reserved4        = netip.MustParsePrefix("240.0.0.0/4")
)

// unusable says why a cannot serve as use, and what to write instead;
// nil when it can. A heartbeat target may be a broadcast address, the
// limited one included (check mode warns about that one); the other uses
// need one host's address.
func unusable(a netip.Addr, use addrUse) *valueError {
	var what string
	switch {
	case a.IsUnspecified():
		what = "the unspecified address, which stands for no host"
	case a.IsLoopback():
		what = "a loopback address, which never leaves this host"
	case a.IsMulticast():
		what = "a multicast address, a group rather than one host"
	case a == limitedBroadcast:
		if use == useTarget {
			return nil
		}
		what = "the limited broadcast address, every host on a link rather than one"
	case a.Is4() && reserved4.Contains(a):
		what = "in the reserved range " + reserved4.String() + ", which hosts do not use"
	case use == usePublic && a.IsLinkLocalUnicast():
		what = "a link-local address, which clients beyond the link cannot reach"
	case a.Is6() && a.IsLinkLocalUnicast():
		// An IPv4 link-local subnet is routed like any other; an IPv6 one
		// is on every interface, so the address means nothing without a
		// zone (fe80::1%eth0), which these keys do not take.
		what = "an IPv6 link-local address, which names no link without a zone such as %" + exampleInterface()
	default:
		return nil
	}
	return &valueError{a.String() + " is " + what, useHint(a, use)}
}

func useHint(a netip.Addr, use addrUse) string {
	switch use {
	case useTarget:
		if a.Is6() {
			return "IPv6 has no broadcast: name the secondary's global or unique-local address on each link, such as 2001:db8::2"
		}
		return "name each link's broadcast address, such as 10.0.255.255, or the secondary's address on that link"
	case usePeer:
		if a.Is6() {
			return "name the primary's global or unique-local address on the private link, such as fd00::1"
		}
		return "name the primary's own address on the private link, such as 10.0.0.1"
	}
	return "name an address clients reach the primary at, such as " + exampleInterface() + ":198.51.100.10"
}

// exampleInterface is an interface name as this system names them, for
// examples in messages.
func exampleInterface() string {
	if runtime.GOOS == "darwin" {
		return "en0"
	}
	return "eth0"
}
