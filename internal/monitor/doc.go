// Package monitor is failoverd's receiver: sockets on the heartbeat port
// (on Linux one for each link, bound to its interface, and one for every
// other interface while a link's interface is missing; elsewhere one for
// each address family), and for each
// packet the interface it arrived on, mapped to a link. It accepts only
// the primary's packets, at most once per link, and counts every one it
// drops, by reason (junk the kernel's filter drops is not seen).
//
// A packet from one of the primary's own addresses that it drops (a key
// on one side only, different keys, a replay) is delivered too, marked
// Dropped, no more than once every refusedEvery per link whatever each
// carries (and a few a second sooner when their kind changes): the
// primary, or someone at its address, sends but is not heard, which
// failoverd says rather than calling the primary silent. Each link keeps
// how the primary's last packets stood with the keys (LinkStats).
//
// # Sockets on Linux
//
// Each link has a socket bound to its interface, so that junk sent to the
// heartbeat port on one link fills that link's queue and is read by that
// link's goroutine, never in the way of another link's heartbeats. Each
// IPv4 socket carries a kernel filter that passes only packets from the
// peer's addresses that start like a heartbeat. A link whose interface
// does not exist (yet) gets no socket of its own: then one socket for the
// port on every other interface takes its packets, once it is there,
// attributed to it by their interface, without the isolation; packets
// from other interfaces count as from no link. That socket drops what
// arrives on a bound link's interface (a broadcast heartbeat would reach
// it too).
//
// The port is shared only then. A socket bound to the wildcard beside the
// links' sockets needs SO_REUSEADDR on all of them, and for UDP the kernel
// lets any user's socket join that (SO_REUSEPORT would check the user, but
// picks its socket before the interface is matched): a local user's
// socket on the secondary's own address would take its unicast
// heartbeats. When every link's interface exists, nothing is shared, there
// is no socket for the other interfaces, and another user's bind on the
// port fails.
//
// # The kernel's filter
//
// A link's filter (IPv4) passes the primary's configured addresses
// (Config.Peers) and the address the primary's heartbeats last came from
// on that link. A primary with service addresses sends its public
// heartbeats from its host address, which failoverd is not told: the
// link's subnets (Config.PeerNets) pass too while that address may be
// unknown or stale:
//   - until the first heartbeat accepted on the link;
//   - after the primary's heartbeats name a new epoch from its own
//     addresses (heartbeatd started again, maybe on a host renumbered),
//     until the link's next heartbeat;
//   - while the link has been silent for silentIntervals of the
//     primary's intervals and another link hears it (the address changed
//     under a running heartbeatd, or the link is cut).
//
// Otherwise junk from the subnet, whatever it looks like, is dropped by
// the kernel before it is queued: a flood from a client's address costs
// failoverd nothing, and takes no room from the heartbeats in the queue.
package monitor
