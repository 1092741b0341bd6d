package failoverd

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

func TestLinksPrivateFirstThenEachPairOnce(t *testing.T) {
	ifs := []netif.Interface{
		{Name: "pub0", Index: 2, Up: true, Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("198.51.100.2/24")}}},
		{Name: "priv0", Index: 3, Up: true, Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("192.0.2.2/24")}}},
	}
	addrs := []takeover.Address{
		{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")},
		{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.9/32")},
		{Interface: "pub1", Prefix: netip.MustParsePrefix("203.0.113.1/24")},
	}
	got, err := Links(ifs, netip.MustParseAddr("192.0.2.1"), addrs)
	if err != nil || !slices.Equal(got, []string{"priv0", "pub0", "pub1"}) {
		t.Fatalf("links %v, %v", got, err)
	}
	_, err = Links(ifs, netip.MustParseAddr("203.0.113.50"), addrs)
	if err == nil || !strings.Contains(err.Error(), "no interface has a subnet that holds 203.0.113.50") {
		t.Fatalf("private address on no link: %v", err)
	}
}

// An address is on a link when a subnet of that interface holds it; a
// subnet of another interface does not count.
func TestOnLinkAsksTheNamedInterfaceOnly(t *testing.T) {
	onLink := OnLink([]netif.Interface{
		{Name: "priv0", Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("192.0.2.2/24")}}},
		{Name: "pub0", Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("fe80::2/64")}, {Prefix: netip.MustParsePrefix("198.51.100.2/24")}}},
	})
	for _, c := range []struct {
		link, addr string
		want       bool
	}{
		{"priv0", "192.0.2.1", true},
		{"pub0", "198.51.100.10", true},
		{"pub0", "192.0.2.1", false},      // priv0's subnet
		{"priv0", "198.51.100.10", false}, // pub0's
		{"pub0", "203.0.113.7", false},    // behind a router
		{"pub1", "198.51.100.10", false},  // no such interface
	} {
		if got := onLink(c.link, netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.addr, c.link, got, c.want)
		}
	}
}

// The primary's public heartbeats may come from the subnets of the
// interfaces that carry the public addresses: each once, link-local
// ones and those of other interfaces aside.
func TestPublicSubnetsAreThoseOfThePublicInterfaces(t *testing.T) {
	ifs := []netif.Interface{
		{Name: "priv0", Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("192.0.2.2/24")}}},
		{Name: "pub0", Addrs: []netif.Addr{
			{Prefix: netip.MustParsePrefix("198.51.100.2/24")},
			{Prefix: netip.MustParsePrefix("fe80::2/64")},
			{Prefix: netip.MustParsePrefix("198.51.100.3/24")}, // a second address in the same subnet
			{Prefix: netip.MustParsePrefix("2001:db8::2/64")},
		}},
		{Name: "pub1", Addrs: []netif.Addr{{Prefix: netip.MustParsePrefix("203.0.113.2/24")}}},
	}
	addrs := []takeover.Address{
		{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")},
		{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.9/32")},
	}
	got := PublicSubnets(ifs, addrs)
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/64")}
	if !slices.Equal(got, want) {
		t.Fatalf("public subnets %v, want %v", got, want)
	}
}
