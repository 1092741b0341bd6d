package heartbeatd

import (
	"net/netip"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/netif"
)

// CheckArbiter (for -n) shows the arbiter (FAILOVER_ARBITER) as this
// host sees it, the keys heartbeatd holds first: its service addresses',
// or without them its heartbeat links' addresses'.
func CheckArbiter(c *config.Config) []config.Finding {
	if len(c.Arbiter) == 0 {
		return nil
	}
	var mine []string
	for _, ip := range KeyAddrs(c, netif.Snapshot) {
		mine = append(mine, ip.String())
	}
	return arbiter.Check(c, mine)
}

// KeyAddrs are the addresses whose keys heartbeatd holds for c: the
// service addresses, or without them the addresses of the links its
// targets are on (LinkAddrs), as interfaces lists them now.
func KeyAddrs(c *config.Config, interfaces func() ([]netif.Interface, error)) []netip.Addr {
	var out []netip.Addr
	if len(c.ServiceIPs) > 0 {
		for _, p := range c.ServiceIPs {
			out = append(out, p.Addr)
		}
		return out
	}
	ifs, err := interfaces()
	if err != nil {
		return nil
	}
	var targets []heartbeat.Target
	for _, t := range c.BcastIPs {
		targets = append(targets, heartbeat.Target{Addr: t, Route: netif.Find(ifs, t)})
	}
	return LinkAddrs(targets)
}
