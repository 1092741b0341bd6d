package heartbeatd

import (
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
	var targets []heartbeat.Target
	if ifs, err := netif.Snapshot(); err == nil {
		for _, t := range c.BcastIPs {
			targets = append(targets, heartbeat.Target{Addr: t, Route: netif.Find(ifs, t)})
		}
	}
	return arbiter.Check(c, KeyAddrs(c, targets))
}

// KeyAddrs are the addresses whose keys heartbeatd holds for c: the
// service addresses, or without them the addresses of the links of
// targets (LinkAddrs).
func KeyAddrs(c *config.Config, targets []heartbeat.Target) []string {
	var out []string
	if len(c.ServiceIPs) > 0 {
		for _, p := range c.ServiceIPs {
			out = append(out, p.Addr.String())
		}
		return out
	}
	for _, ip := range LinkAddrs(targets) {
		out = append(out, ip.String())
	}
	return out
}
