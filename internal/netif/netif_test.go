package netif

import (
	"net/netip"
	"testing"
)

func TestBroadcastOf(t *testing.T) {
	for p, want := range map[string]string{
		"10.0.0.2/16": "10.0.255.255", "192.0.2.1/24": "192.0.2.255", "198.51.100.1/25": "198.51.100.127", "203.0.113.9/30": "203.0.113.11",
	} {
		if got := BroadcastOf(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}

func TestNarrowerBroadcast(t *testing.T) {
	cases := []struct {
		link, target string
		k            int
		ok           bool
	}{
		{"10.0.0.2/16", "10.0.0.255", 24, true},
		{"10.0.0.2/16", "10.0.127.255", 17, true},
		{"192.0.2.1/24", "192.0.2.127", 25, true},
		{"10.0.0.2/8", "10.1.2.255", 24, true},
		{"192.0.2.1/24", "192.0.2.63", 0, false}, // a /26 broadcast is too often a host
		{"192.0.2.1/24", "192.0.2.20", 0, false},
		{"192.0.2.1/25", "192.0.2.127", 0, false}, // the link's own broadcast
	}
	for _, c := range cases {
		k, ok := NarrowerBroadcast(netip.MustParsePrefix(c.link), netip.MustParseAddr(c.target))
		if k != c.k || ok != c.ok {
			t.Errorf("%s in %s: %d %v, want %d %v", c.target, c.link, k, ok, c.k, c.ok)
		}
	}
}

func TestFindPrefersUpAndBroadcast(t *testing.T) {
	ifs := []Interface{
		{Name: "down0", Up: false, Addrs: []Addr{NewAddr(netip.MustParsePrefix("192.0.2.5/24"))}},
		{Name: "up0", Up: true, Addrs: []Addr{NewAddr(netip.MustParsePrefix("192.0.2.1/24"))}},
		{Name: "pub0", Up: true, Addrs: []Addr{NewAddr(netip.MustParsePrefix("198.51.100.1/24"))}},
	}
	r := Find(ifs, netip.MustParseAddr("192.0.2.255"))
	if r.Kind != Broadcast || r.Interface.Name != "up0" || r.Addr.Prefix.Addr().String() != "192.0.2.1" {
		t.Errorf("broadcast: %+v", r)
	}
	if r := Find(ifs, netip.MustParseAddr("198.51.100.7")); r.Kind != Unicast || r.Interface.Name != "pub0" {
		t.Errorf("unicast: %+v", r)
	}
	if r := Find(ifs, netip.MustParseAddr("203.0.113.255")); r.Kind != NoLink {
		t.Errorf("no link: %+v", r)
	}
	it, a, ok := Closest(ifs, netip.MustParseAddr("198.51.101.255"))
	if !ok || it.Name != "pub0" || a.Broadcast.String() != "198.51.100.255" {
		t.Errorf("closest: %v %+v %v", it.Name, a, ok)
	}
}
