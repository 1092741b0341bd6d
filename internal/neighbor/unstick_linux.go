package neighbor

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Unstick removes the kernel's neighbour entry for ip where it is still
// being resolved (INCOMPLETE) or failed to be, so that the next datagram
// to ip starts a resolution of its own, with a request at once.
//
// An entry whose resolution began while its link was dark (the far end
// powered off, a cable out) sends its next request only a retrans_time
// (1 s by default) after the last, whenever the link came back, and
// holds every datagram to ip until then: failoverd's `released` to a
// primary that is back would wait up to a second in the kernel, and the
// clients with it, on the secondary's MAC, which no longer answers.
// Valid entries (REACHABLE, STALE, DELAY, PROBE) and static ones stay.
func Unstick(ip netip.Addr) error {
	family := netlink.FAMILY_V4
	if ip.Unmap().Is6() {
		family = netlink.FAMILY_V6
	}
	ip = ip.Unmap()
	all, err := netlink.NeighList(0, family)
	if err != nil {
		return err
	}
	var first error
	for _, n := range all {
		if a, ok := netip.AddrFromSlice(n.IP); !ok || a.Unmap() != ip {
			continue
		}
		if n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
			continue
		}
		n.IP = net.IP(ip.AsSlice())
		if err := netlink.NeighDel(&n); err != nil && first == nil {
			first = err
		}
	}
	return first
}
