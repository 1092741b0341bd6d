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
