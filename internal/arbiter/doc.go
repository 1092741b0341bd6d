// Package arbiter is the quorum client: it keeps this host's lease in
// etcd, claims and releases the keys of service addresses under it, and
// reads which host holds each address and which nodes are alive. A host
// adds an address only while it holds the address's key, and removes it
// before its lease can have expired on the server; the majority of etcd
// decides, so a host cut off from it can never add one.
//
// # Keys
//
//	<prefix>/addr/<address>  = node name               under the holder's lease
//	<prefix>/node/<name>     = "primary" | "standby N" under the node's own lease
//
// A claim is one transaction: if the address key does not exist (its
// CreateRevision is 0) or already names this node, put this node's name
// under this node's lease; otherwise return the name it holds. Release
// deletes the key only if it names this node. A lease that expires, or is
// revoked on a clean stop, takes its keys with it: the liveness key then
// says the node is gone, and its addresses are free.
//
// # Rounds
//
// Client.Run grants a lease of TTL and writes the liveness key under it,
// then every TTL/6 sends one keep-alive (never etcd's background
// keep-alive, which hides when each renewal was sent) and, once it is
// answered, reads the whole prefix through the majority (a linearizable
// read). A round is "reachable" when both were answered. Each call is
// bounded by TTL/6 too, so a host cut from the majority learns it within a
// round and never waits longer for an answer than it would for the next
// renewal. When a keep-alive finds the lease gone (it expired while the
// host could not renew), the client grants a new one and writes the
// liveness key again; the address keys under the old lease are gone, and
// Status counts the loss.
//
// A lease whose Deadline (below) passed unrenewed is let go: from the
// deadline it is no longer renewed, and once the server may have expired
// it anyway (a TTL after the last acknowledged renewal was sent) the
// client revokes it (if that arrives) and grants a new one. Its holder
// has let its addresses go by then, so its keys must not outlive them, as
// they would if renewals reached the server while their answers could not
// come back (a one-way cut); revoked at the deadline, they would be freed
// while the holder is still removing its addresses, within the margin
// that is its own. Config.KeepPastDeadline keeps renewing it instead
// until its DownDeadline (a TTL less the margin after the last round in
// which every member refused the connection), for a holder that keeps
// its addresses while etcd is down for everyone and through its return:
// when etcd answers again its keys are still its own. Under a one-way cut
// the members are silent, not refusing, no DownDeadline moves, and the
// lease is let go as without it.
//
// # The deadline: leases and clocks
//
// The server expires a lease TTL after the last renewal it *applied*, on
// its own clock (etcd: the leader's). The client cannot know when that
// was, only that it was after it *sent* the renewal: so it counts from the
// send time s, never from when the answer came. With T the TTL the server
// reported, the lease lives on the server at least until real time
//
//	s + T/(1+ρ)              (the server's clock may run fast by ρ)
//
// and the client's clock, which may run slow by ρ, reads D - s when real
// time D' ≤ s + (D - s)/(1-ρ) has passed. Deadline is
//
//	D = s + T - margin,  margin = T/6 + 2ρT   (Margin; ρ = ClockRateError = 10⁻³)
//
// and D' < s + T/(1+ρ) holds whenever margin > 2ρT (to first order in ρ):
// 2ρT is what the clocks may take, T/6 is slack for the holder's own
// delays in acting on the deadline (a scheduler stall, removing an
// address). For T = 3 s, margin = 506 ms: the holder must be rid of its
// addresses by s + 2.494 s; nobody else can claim them before s + 2.997 s
// of real time. Renewals every T/6, each answered within T/6, keep D about
// T/2 or more ahead of now while the
// majority answers. Go's time.Time carries the monotonic clock, so a step
// of the wall clock moves none of this.
//
// Nothing here can make the server expire a lease early: a leader change
// only lengthens leases (etcd restarts every lease at TTL plus an election
// timeout on a new leader, which covers the renewals an old leader cut
// from its majority may still have granted before it stepped down), and
// while the cluster has no leader, leases wait. A renewal that took effect but whose answer was lost lengthens the
// lease on the server, never the client's deadline. So a second holder can
// only appear after the first host's Deadline.
//
// # Liveness
//
// Client.Alive(node) says whether node's liveness key was in the last
// read that reached the majority; it is known only while that read is
// younger than a TTL. A node whose key is gone has let its lease expire
// or revoked it: past its own deadline, it holds no address.
//
// # Backends
//
// Backend is the handful of etcd operations the Client uses. Etcd is the
// real one (go.etcd.io/etcd/client/v3, optional TLS); Memory is an etcd
// in memory for the simulation: leases expire on the server's clock,
// members stop and start, each client's connection can be cut from the
// majority in the ways etcd's are, and it moves only when called, so it
// is deterministic under testing/synctest.
package arbiter
