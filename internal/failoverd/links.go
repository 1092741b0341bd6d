package failoverd

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Links names the links heartbeats are expected on: the interface whose
// subnet holds the primary's private address first, then each interface
// a public address is taken over on.
func Links(ifs []netif.Interface, peer netip.Addr, addrs []takeover.Address) ([]string, error) {
	r := netif.Find(ifs, peer)
	if r.Kind == netif.NoLink {
		return nil, fmt.Errorf("no interface has a subnet that holds %s (%s), so there is no private link to listen on; failoverd -n says more", peer, config.KeyPeerIP)
	}
	links := []string{r.Interface.Name}
	for _, a := range addrs {
		if !slices.Contains(links, a.Interface) {
			links = append(links, a.Interface)
		}
	}
	return links, nil
}
