// Package standby lets several failoverd that watch one primary see each
// other, so that exactly one takes the addresses: the one of the highest
// FAILOVER_PRIORITY that is alive.
//
// Every failoverd announces itself every interval of the primary's
// heartbeats: a packet of type standby (package wire), signed with the
// key like a heartbeat, sent to the broadcast address of each of its
// heartbeat links' IPv4 subnets on the standby port (FAILOVER_STANDBY_PORT,
// 1695), never the heartbeat port. Its message says the sender's priority,
// whether it holds the addresses, whether it may take them (not held by
// its operator, not vetoed by its Test, its address links with carrier,
// hearing the answers to its questions), and which addresses they are.
// Each failoverd keeps the announcements it heard (Table) and from them
// what it must leave to another standby (Table.Yield): the addresses
// held by one, or a standby that ranks above it and is alive and able to
// take them. A standby counts as alive for the primary's timeout after
// its last announcement, or, if it says it announces itself less often
// (it has not heard the primary and goes by the default interval), for
// as many of its own intervals (Life).
//
// The receiver takes only announcements on its links, authenticated when
// a key is set, that name the addresses this host takes (Fingerprint:
// another pair's standbys on the same LAN name others), through a replay
// guard of their own (a recording of a standby that holds the addresses
// must not hold the others back), from a bounded number of standbys.
//
// # Sockets
//
// The standby port's sockets are made as the heartbeat port's are
// (package linksock), IPv4 only and with no kernel filter. On Linux each
// link has one, bound to its interface, with a
// 4 MiB receive buffer, read by a goroutine of its own; a packet's link is
// its socket's. Junk sent to the port on one link, even junk with the
// key's id that costs a tag check each, fills that link's queue and
// takes that link's reader's time, never another's: announcements on
// the other link are all heard, and a burst on its own link waits in the
// buffer (about 10 000 packets) until the reader catches up. With one
// socket for every link, such a flood cost both links the same share of
// announcements, and without an arbiter two standbys that heard each
// other on neither could both take the addresses. Only while a link's
// interface is missing does a socket for every other interface take its
// packets (its link then told by their interface) and share the port;
// otherwise what is sent to the port on an interface that is no link's
// reaches no socket, and is not counted as an unknown-link drop.
// Each announcement goes out through the socket of the link whose
// subnet it is sent to. A link's interface deleted and made again under
// its name (a bond or VLAN recreated) gets its socket bound to it again
// within a second (linksock.Follow): the kernel binds a socket to an
// interface's index, and one left on the old index would hear and send
// nothing on that link. Elsewhere one socket takes the port on every
// interface.
package standby
