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
package standby
