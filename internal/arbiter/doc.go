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
// CreateRevision is 0), or holds this node's name under this client's
// lease, it is this node's: put its name under its lease; otherwise
// return the key as it is. A key of this node's name under a lease this
// client held before (let go past its deadline while the server kept it:
// its revoke lost, or etcd down for everyone and back) is taken back
// under the current one, in the same kind of transaction (its lease
// compared). Release deletes the key only if it holds this node's name
// under this client's lease, or one it held before. A lease that
// expires, or is revoked on a clean stop, takes its keys with it: the
// liveness key then says the node is gone, and its addresses are free.
//
// # Two hosts of one name
//
// The node name is FAILOVER_NODE_NAME, the host name up to its first dot
// by default: a cloned host or a copied configuration file gives two
// hosts one name. The value of a key cannot tell them apart, so the
// transactions compare the key's lease too (etcd's LeaseValue), and the
// value stays the bare name, which every reader (Status, failoverctl,
// the metrics, etcdctl) shows as it is; a lease id in the value would
// have had every reader strip it. A key of this node's name under any
// other lease is another host's: a claim of it is refused, with the
// holder TwinHolder(name), "<name> (another host with this name)", never
// the name itself, so the daemons, which compare the holder with their
// own name, add nothing and yield; Release leaves it (ErrTwin); Status
// names that holder; and the client logs an error once for each such
// lease, as it does for its liveness key found under another lease.
//
// A run killed and started again (systemd restarts it a second later)
// finds its earlier run's keys under a lease it never held, which lives
// until it expires, a TTL after that run's last renewal. The view shows
// them as its own for a TTL and EarlierRunSlack after its first lease
// was granted, and lists them in Status.Earlier, so that the daemon keeps
// the addresses the earlier run left. For those addresses, which the
// host holds on its interfaces, the daemon calls Adopt: the key is moved
// under the current lease at the first round that reaches the majority
// (one transaction, the earlier lease compared), so that from then on
// this run's Deadline is the one that counts. Left under the earlier
// lease, the key would expire at a moment no deadline of this run
// tracks: cut from the majority meanwhile, the host would hold the
// address with no key, until its own Deadline, while another host
// claimed the key and added the address. Claim of such a key is refused
// until the earlier lease expires, as a twin's is (an address this host
// does not hold). A key of its name under another lease still there past
// that window is another host's, and Adopt refuses it too; Adopt is for
// addresses this host holds, and a twin that holds one as well makes two
// owners already, which the error logged tells of. (A leader change
// meanwhile gives a dead run's lease a TTL more: a key not adopted is
// then named another host's until it expires, and a daemon holding its
// address removes it; it takes it again as for any other holder.)
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
