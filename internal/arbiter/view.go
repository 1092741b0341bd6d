package arbiter

import (
	"maps"
	"slices"
	"time"
)

// Deadline is the instant by which a holder must be rid of its
// addresses: the send time of the last acknowledged renewal (or grant),
// plus the TTL the server gave, minus Margin. Before it, the server
// cannot have expired the lease, whatever the answer's delay and within
// ClockRateError. Zero when there is no lease.
func (c *Client) Deadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadlineLocked()
}

func (c *Client) deadlineLocked() time.Time {
	if c.lease == 0 {
		return time.Time{}
	}
	return c.acked.Add(c.ttl - Margin(c.ttl))
}

// DownDeadline is, for a holder that keeps its addresses while etcd is
// down for everyone (FAILOVER_ARBITER_LOST=keep, KeepPastDeadline), the
// instant by which it must be rid of them after all: the send time of
// the last round in which every member refused the connection, plus the
// TTL, minus Margin. No member ran then, so no leader was elected before
// it, and a newly elected leader gives every lease at least its TTL again
// (etcd promotes them): before this instant the server cannot have
// expired this host's lease, whether etcd came back since or not. A
// leader that could expire it would have had to run through one of the
// rounds since, which then found a member that did not refuse. Zero when
// no round found every member refusing.
func (c *Client) DownDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.downDeadlineLocked()
}

func (c *Client) downDeadlineLocked() time.Time {
	if c.allRefused.IsZero() {
		return time.Time{}
	}
	ttl := c.ttlLocked()
	return c.allRefused.Add(ttl - Margin(ttl))
}

// ttlLocked is the TTL the server granted, or the one asked for before
// any was.
func (c *Client) ttlLocked() time.Duration {
	if c.ttl == 0 {
		return c.cfg.TTL
	}
	return c.ttl
}

// expirableLocked is the instant from which the server may have expired
// the lease: a TTL after the last acknowledged renewal was sent, by this
// host's clock. A clock that runs fast by ClockRateError reads it no
// earlier than a server clock that runs fast by as much expires the
// lease, so a revoke sent then frees nothing sooner than the expiry
// could have; the margin between Deadline and it is the holder's, to
// remove its addresses.
func (c *Client) expirableLocked() time.Time {
	return c.acked.Add(c.ttl)
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Reachable says whether the last round reached the majority: the
// renewal and the read were both answered.
func (c *Client) Reachable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reachable
}

// Alive says whether node's liveness key exists, as the last read that
// reached the majority found it. known is false when no such read was
// sent within the last TTL; alive is then false too.
func (c *Client) Alive(node string) (alive, known bool) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= c.cfg.TTL {
		return false, false
	}
	_, alive = c.nodes[node]
	return alive, true
}

// Changes receives a token whenever reachability, an address's holder or
// the set of live nodes (or a role) changes, and when the lease is found
// gone; the daemon then reads what it needs. Tokens do not queue: one
// waiting stands for any number of changes. The token is left before
// the change can be seen (Status, Reachable), so a reader that saw it
// finds the token too.
func (c *Client) Changes() <-chan struct{} { return c.changes }

// Status is a snapshot for failoverctl, metrics and logs.
type Status struct {
	Node       string
	Reachable  bool   // the last round reached the majority
	Err        string // why the last round failed; "" when it did not
	Answering  int    // members that answered with a leader in view
	Refusing   int    // members that refused the connection: no etcd runs there
	Leaderless int    // members that answered with no leader in view
	Members    int    // members configured
	Lease      LeaseID
	TTL        time.Duration // as the server granted it
	Renewed    time.Time     // send time of the last acknowledged renewal
	Deadline   time.Time
	// LeasesLost counts the leases found gone on the server (expired
	// while this host could not renew, or revoked by someone else) or let
	// go past their deadline; every claim under one went with it.
	// LeaseLostAt is when the last ended.
	LeasesLost  int
	LeaseLostAt time.Time
	ReadAt      time.Time // send time of the last read that reached the majority
	// Holders: address -> holding node, as of ReadAt and claims since;
	// TwinHolder(Node) for a key of this host's name under another
	// host's lease.
	Holders map[string]string
	// Earlier: the addresses, sorted, whose key Holders names this host
	// for while it lives under a lease not this client's, found within a
	// TTL and EarlierRunSlack of its first lease: perhaps its earlier
	// run's (killed, and started again). Claim is refused them until that
	// lease expires; Adopt takes them, for the addresses this host holds.
	Earlier []string
	Nodes   map[string]string // live node -> role, as of ReadAt
}

// Status returns a copy of what the client knows.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{
		Node:        c.cfg.Node,
		Reachable:   c.reachable,
		Answering:   c.answering,
		Refusing:    c.refusing,
		Leaderless:  c.leaderless,
		Members:     c.members,
		Lease:       c.lease,
		TTL:         c.ttl,
		Renewed:     c.acked,
		Deadline:    c.deadlineLocked(),
		LeasesLost:  c.losses,
		LeaseLostAt: c.lostAt,
		ReadAt:      c.readAt,
		Holders:     maps.Clone(c.holders),
		Nodes:       maps.Clone(c.nodes),
	}
	for addr, h := range c.holders {
		if l := c.leases[addr]; h == c.cfg.Node && l != 0 && !c.ownLocked(l) {
			s.Earlier = append(s.Earlier, addr)
		}
	}
	slices.Sort(s.Earlier)
	if c.err != nil {
		s.Err = c.err.Error()
	}
	if c.lease == 0 {
		s.TTL, s.Renewed = 0, time.Time{}
	}
	return s
}
