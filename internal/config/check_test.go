package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/netif"
)

func iface(name string, up bool, prefixes ...string) netif.Interface {
	it := netif.Interface{Name: name, Up: up, Running: up}
	for _, p := range prefixes {
		it.Addrs = append(it.Addrs, netif.NewAddr(netip.MustParsePrefix(p)))
	}
	return it
}

var host = []netif.Interface{
	iface("lo", true, "127.0.0.1/8", "::1/128"),
	iface("priv0", true, "10.0.0.2/16"),
	iface("eth0", true, "100.0.0.20/16", "2001:db8::20/64"),
	iface("eth1", false, "192.0.2.2/24"),
}

func findings(t *testing.T, role Role, args ...string) string {
	t.Helper()
	c, err := Load(role, Sources{Args: args})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteFindings(&b, Check(c, role, host))
	return b.String()
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("findings lack %q:\n%s", w, out)
		}
	}
}

func TestCheckTargets(t *testing.T) {
	// The classic mistake: the private link is a /16, the config names
	// the /24 broadcast address.
	out := findings(t, Heartbeatd, "10.0.0.255", "100.0.255.255")
	wantLines(t, out,
		"error   command line (ip_addr arguments): FAILOVER_BCAST_IPS=10.0.0.255: 10.0.0.255 is the broadcast address of a /24, but the link priv0 (10.0.0.2/16) is a /16; its broadcast address is 10.0.255.255",
		"ok      command line (ip_addr arguments): FAILOVER_BCAST_IPS=100.0.255.255: broadcast address of eth0 (100.0.0.20/16); heartbeats leave eth0 from 100.0.0.20",
	)
	// The other way round: the link is a /24 elsewhere, the target names
	// a subnet no interface has.
	out = findings(t, Heartbeatd, "10.1.255.255")
	wantLines(t, out, "error", "10.1.255.255 is not the broadcast address of a subnet on any interface that is up; the closest is priv0 (10.0.0.2/16), whose broadcast address is 10.0.255.255")
	out = findings(t, Heartbeatd, "192.0.2.255", "100.0.0.21", "255.255.255.255", "10.0.0.2")
	wantLines(t, out,
		"error   command line (ip_addr arguments): FAILOVER_BCAST_IPS=192.0.2.255: the link for 192.0.2.255, eth1 (192.0.2.2/24, down), is down",
		"ok      command line (ip_addr arguments): FAILOVER_BCAST_IPS=100.0.0.21: unicast to a host on eth0",
		"warning command line (ip_addr arguments): FAILOVER_BCAST_IPS=255.255.255.255",
		"FAILOVER_BCAST_IPS=10.0.0.2: 10.0.0.2 is this host's own address on priv0",
	)
	if out := findings(t, Heartbeatd, "10.0.255.255"); !strings.Contains(out, "warning") || !strings.Contains(out, "only one link") {
		t.Errorf("one link must warn:\n%s", out)
	}
	// A unicast target behind a router is allowed, and said.
	out = findings(t, Heartbeatd, "10.0.255.255", "172.16.5.9")
	wantLines(t, out, "warning command line (ip_addr arguments): FAILOVER_BCAST_IPS=172.16.5.9: 172.16.5.9 is on no directly connected subnet; heartbeats to it follow the routing table")
	// A /25 broadcast on a /24 link may be a host: a warning.
	out = findings(t, Heartbeatd, "10.0.255.255", "100.0.0.127")
	if strings.Contains(out, "error") {
		t.Errorf("a .127 unicast target is not an error:\n%s", out)
	}
}

func TestCheckFailover(t *testing.T) {
	out := findings(t, Failoverd, "10.0.0.1", "eth0:100.0.0.10", "eth0:100.0.0.11/16", "eth0:203.0.113.5/24", "eth0:203.0.113.6", "eth9:100.0.0.12", "eth0:[2001:db8::10]")
	wantLines(t, out,
		"ok      command line (master_priv_addr argument): FAILOVER_PEER_IP=10.0.0.1: on the directly connected subnet of priv0 (10.0.0.2/16): the private link",
		"ok      command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:100.0.0.10: taken over on eth0, on its own subnet 100.0.0.0/16",
		"error   command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:100.0.0.11/16: 100.0.0.11 is on eth0's own subnet 100.0.0.0/16, so the mask must be blank or /32; write eth0:100.0.0.11",
		"ok      command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:203.0.113.5/24: taken over on eth0 with its own subnet /24",
		"warning command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:203.0.113.6: 203.0.113.6 is not on any subnet of eth0",
		"error   command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth9:100.0.0.12: no interface named eth9; this host has lo, priv0, eth0, eth1",
		"ok      command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:[2001:db8::10]: taken over on eth0, on its own subnet 2001:db8::/64",
	)
	out = findings(t, Failoverd, "172.16.0.1", "priv0:10.0.0.9", "eth1:192.0.2.9")
	wantLines(t, out,
		"error   command line (master_priv_addr argument): FAILOVER_PEER_IP=172.16.0.1: not on any directly connected subnet",
		"error   command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth1:192.0.2.9: eth1 is down; bring it up",
	)
	if strings.Contains(out, "also carries the private link") {
		t.Errorf("no private link was found, so none can be shared:\n%s", out)
	}
	out = findings(t, Failoverd, "10.0.0.1", "priv0:10.0.0.9", "eth0:100.0.0.20")
	wantLines(t, out, "priv0 also carries the private link", "this host already holds 100.0.0.20 on eth0")
}

// heartbeatd's service addresses are checked by the pairs' rules.
func TestCheckServiceIPs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ipfailover")
	if err := os.WriteFile(file, []byte(`FAILOVER_SERVICE_IPS="eth0:100.0.0.10 eth0:100.0.0.11/16 eth9:100.0.0.12"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Heartbeatd, Sources{File: file, Args: []string{"10.0.255.255", "100.0.255.255"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WriteFindings(&b, Check(c, Heartbeatd, host))
	wantLines(t, b.String(),
		"FAILOVER_SERVICE_IPS=eth0:100.0.0.10: held on eth0, on its own subnet 100.0.0.0/16",
		"FAILOVER_SERVICE_IPS=eth0:100.0.0.11/16: 100.0.0.11 is on eth0's own subnet 100.0.0.0/16, so the mask must be blank or /32",
		"FAILOVER_SERVICE_IPS=eth9:100.0.0.12: no interface named eth9",
	)
}
