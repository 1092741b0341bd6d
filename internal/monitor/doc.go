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
// The sockets are package linksock's: one for each link, bound to its
// interface with a large receive buffer, so that junk sent to the
// heartbeat port on one link fills that link's queue and is read by that
// link's goroutine, never in the way of another link's heartbeats; and
// one for every other interface only while a link's interface is missing
// (then the port is shared: linksock's doc says what that costs). Each
// IPv4 socket carries a kernel filter that passes only packets from the
// peer's addresses that start like a heartbeat; packets from interfaces
// that are no link's count as from no link.
//
// The kernel binds a link's socket to its interface's index. Run looks
// every second (linksock.FollowEvery) for a link whose interface was deleted and
// made again under its name (a bond or VLAN recreated, the network
// configuration restarted) and binds its sockets to the new index
// (linksock.Follow), with a warning: left on the old one, the link would
// hear nothing until failoverd restarts, and with every link made again
// failoverd would go after a live primary's addresses. A socket bound
// again keeps its filter, the one its link's state asks for now (below);
// the socket for the other interfaces is given its filter again, the
// same peers with the links' new indexes to drop (its filter never
// changes otherwise). The interfaces' names are then read again at once,
// so that the new index counts as the link's.
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
