// Package sim is a deterministic simulation of a primary and its
// standbys: the real heartbeatd and failoverd runtimes, the real state
// machine, wire format, replay guard, monitor and standby announcements
// (standby.Conn without a socket: it numbers, seals and accepts them), in
// one process under testing/synctest, joined by a simulated network of
// two links (priv0, pub0) and a client on the public LAN. A seed fixes
// how many standbys watch the primary (one in half the seeds, the pair;
// two or three in the others, each with a FAILOVER_PRIORITY of its own,
// two of one priority in a tenth of those), the configuration, the
// network's loss, delay, jitter and duplication in each direction (the
// standby port's broadcasts meet them as the heartbeats do), and the
// faults that happen: power off and on, a hung host, carrier lost and
// back on any host's links, a link cut, a standby cut off a link with
// its carrier kept, daemons killed, stopped and started, a standby lost
// at the moment the primary dies, a stalled reader, a vetoing Test hook,
// the operator's failoverctl on any standby, another pair's standby on
// the LAN, and an attacker on each link who sends junk, replays what it
// recorded (heartbeats, and the standbys' announcements to the standby
// port and to the heartbeat port from the primary's address) and forges
// ARP answers. In a third of the seeds the daemons have an arbiter
// (arbiter.go): three etcd members in memory (arbiter.Memory: leases that
// expire on the server's clock, an election timeout of 100 ms to 1 s, a
// TTL of 2, 3 or 5 s, keep or release) behind each daemon's real
// arbiter.Client, on a management network the link faults do not reach;
// its own faults cut a host from the majority (its requests lost,
// refused, or arriving with their answers lost), stop one member, two or
// all, cut the standby that took a dead primary's address, or cut the
// primary from everyone.
//
// At every change the simulation checks the promises (promises.go): one
// owner of the address among the primary and every standby outside the
// documented windows (the lower of two standby holders gives it back
// once it can hear the higher), no takeover of a live primary, a dead
// primary taken within the bound by the highest standby able to take
// it (a standby timeout more when one above it fell silent), no
// takeover, fencing Test or conflict notice by a standby that heard
// another hold the address or rank above it and may take it, hooks in
// order, `released` only once the address is gone, no spin, and after
// the moves settle the client reaches the primary alone. With an arbiter
// also: no host adds the address without holding its key; a host that
// holds the address holds its key at every moment (so the address
// outlives no lease on the server), and with release is rid of it by its
// lease's deadline; a primary that renews its lease holds its address's
// key in host-address mode; and a dead primary's address is taken once
// its key is free and the standby has reached the majority, within the
// same bound from then. Outside the windows failoverd(8) documents: a
// holder killed or frozen cannot remove, one that every member refuses
// keeps with keep, and an address left by a killed run is claimed again
// once that run's lease expires. A breach fails
// with the seed and the timeline of the events up to it.
//
// What the seed cannot fix is the order in which the Go scheduler runs
// goroutines that are ready at the same simulated instant; each flow's
// random draws come from a generator of its own, so that order moves no
// draw to another packet.
package sim
