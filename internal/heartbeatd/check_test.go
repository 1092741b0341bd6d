package heartbeatd

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/netif"
)

// The keys heartbeatd holds, which -n shows first: the service
// addresses; without them, the global addresses of the links its
// targets are on, not of the other interfaces.
func TestTheKeysHeartbeatdHolds(t *testing.T) {
	iface := func(name string, addrs ...string) netif.Interface {
		it := netif.Interface{Name: name, Up: true, Running: true}
		for _, a := range addrs {
			it.Addrs = append(it.Addrs, netif.NewAddr(netip.MustParsePrefix(a)))
		}
		return it
	}
	ifs := []netif.Interface{
		iface("lo", "127.0.0.1/8", "::1/128"),
		iface("priv0", "192.0.2.1/24", "fe80::1/64"),
		iface("pub0", "198.51.100.1/24", "2001:db8::1/64", "fe80::2/64"),
		iface("mgmt0", "203.0.113.5/24"),
	}
	c := &config.Config{BcastIPs: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")}}
	var targets []heartbeat.Target
	for _, t := range c.BcastIPs {
		targets = append(targets, heartbeat.Target{Addr: t, Route: netif.Find(ifs, t)})
	}
	want := []string{"192.0.2.1", "198.51.100.1", "2001:db8::1"}
	if got := KeyAddrs(c, targets); !slices.Equal(got, want) {
		t.Errorf("host-address mode: %v, want %v", got, want)
	}
	c.ServiceIPs = []config.Pair{{Interface: "pub0", Addr: netip.MustParseAddr("198.51.100.100"), Bits: -1}}
	if got := KeyAddrs(c, targets); !slices.Equal(got, []string{"198.51.100.100"}) {
		t.Errorf("service-address mode: %v, want the service address", got)
	}
}
