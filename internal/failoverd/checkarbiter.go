package failoverd

import (
	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
)

// CheckArbiter (for -n) shows the arbiter (FAILOVER_ARBITER) as this
// host sees it, the keys of the addresses it takes over first.
func CheckArbiter(c *config.Config) []config.Finding {
	var mine []string
	for _, p := range c.Pairs {
		mine = append(mine, p.Addr.String())
	}
	return arbiter.Check(c, mine)
}
