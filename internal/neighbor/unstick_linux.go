package neighbor

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Unstick removes the kernel's neighbour entry for ip on the interface a
// datagram to ip leaves by, where that entry is still being resolved
// (INCOMPLETE) or failed to be, so that the next datagram to ip starts a
// resolution of its own, with a request at once.
//
// An entry whose resolution began while its link was dark (the far end
// powered off, a cable out) sends its next request only a retrans_time
// (1 s by default) after the last, whenever the link came back, and
// holds every datagram to ip until then: failoverd's `released` to a
// primary that is back would wait up to a second in the kernel, and the
// clients with it, on the secondary's MAC, which no longer answers.
// Valid entries (REACHABLE, STALE, DELAY, PROBE), static ones, and those
// another program manages (managed, extern_learn) stay; so do entries
// for ip on other interfaces. What other programs had queued to ip in a
// removed entry is dropped with it, as the kernel would after its last
// request.
func Unstick(ip netip.Addr) error {
	ip = ip.Unmap()
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	routes, err := netlink.RouteGet(net.IP(ip.AsSlice()))
	if err != nil {
		return err
	}
	if len(routes) == 0 || routes[0].LinkIndex == 0 {
		return nil
	}
	all, err := netlink.NeighList(routes[0].LinkIndex, family)
	if err != nil {
		return err
	}
	var first error
	for _, n := range all {
		if a, ok := netip.AddrFromSlice(n.IP); !ok || a.Unmap() != ip {
			continue
		}
		if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 ||
			n.Flags&netlink.NTF_EXT_LEARNED != 0 || n.FlagsExt&netlink.NTF_EXT_MANAGED != 0 {
			continue
		}
		if err := netlink.NeighDel(&n); err != nil && first == nil {
			first = err
		}
	}
	return first
}
