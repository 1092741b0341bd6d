package arbiter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Claim asks for addr's key: held when it returns this node's name and
// no error. Another name is the holder, who keeps it; so is
// TwinHolder(node), another lease under this node's name (another host
// configured with it, or within the first TTL of a run, perhaps this
// host's earlier run, whose lease has yet to expire): neither is ever
// taken. It is refused at once, without asking, when the lease is past
// its Deadline or missing (ErrNoLease) or the last round did not reach
// the majority (ErrUnreachable); otherwise the call is bounded by TTL/6.
// A claim lasts as long as the lease: the holder must be rid of the
// address before Deadline unless a later renewal moves it. A key this
// client holds under a lease it held before (let go past its deadline,
// replaced while the server still had it) is taken back under the
// current one.
func (c *Client) Claim(ctx context.Context, addr string) (holder string, err error) {
	return c.claim(ctx, addr, false)
}

// Adopt is Claim for an address this host holds already, found on its
// interfaces when the daemon started (left by an earlier run, killed or
// crashed, whose lease was neither revoked nor renewed since): a key of
// this node's name under a lease not this client's, found within a TTL
// and EarlierRunSlack of its first lease (perhaps its earlier run's, as
// Status.Earlier lists), is moved under the current lease in one
// transaction (that lease compared), so that from the first round that
// reaches the majority the key lives as long as this run's lease, and
// this run's Deadline is the one that counts for the address. Otherwise
// the earlier lease would expire at a moment no deadline of this run
// tracks, while this host holds the address, and another host could
// claim it. Found later, such a key is another host's of this name
// (TwinHolder), refused as by Claim. Only for an address this host
// holds: a twin holding it too is two owners already.
func (c *Client) Adopt(ctx context.Context, addr string) (holder string, err error) {
	return c.claim(ctx, addr, true)
}

// claim is Claim, and with adopt, Adopt.
func (c *Client) claim(ctx context.Context, addr string, adopt bool) (holder string, err error) {
	now := c.clock.Now()
	c.mu.Lock()
	id, deadline, reachable := c.lease, c.deadlineLocked(), c.reachable
	from := c.leases[addr]
	switch {
	case from == id:
		from = 0
	case slices.Contains(c.prior, from):
	case adopt && c.earlierLocked(KV{Value: c.holders[addr], Lease: from}, now):
		// Its earlier run's, perhaps, as the last read found it.
	default:
		from = 0
	}
	c.mu.Unlock()
	switch {
	case id == 0 || !now.Before(deadline):
		return "", ErrNoLease
	case !reachable:
		return "", ErrUnreachable
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	key := c.addrKey(addr)
	kv, err := c.b.Claim(cctx, key, c.cfg.Node, id, from)
	if err == nil && kv.Value == c.cfg.Node && kv.Lease != id && kv.Lease != from && (c.own(kv.Lease) || adopt && c.earlier(kv, now)) {
		// Its own key, under a lease it held before (or, adopted,
		// perhaps its earlier run's) that the last read did not show
		// it under: taken back.
		kv, err = c.b.Claim(cctx, key, c.cfg.Node, id, kv.Lease)
	}
	if err != nil {
		err = fmt.Errorf("arbiter: claim %s: %w", addr, err)
		switch {
		case errors.Is(err, ErrLeaseNotFound):
			c.lost(id, gone)
		case ctx.Err() == nil:
			c.unreached(err)
		}
		return "", err
	}
	holder = kv.Value
	if kv.Value == c.cfg.Node && kv.Lease != id {
		holder = TwinHolder(c.cfg.Node)
	}
	c.saw(addr, kv, now)
	return holder, nil
}

// own says whether lease is this client's, now or before.
func (c *Client) own(lease LeaseID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownLocked(lease)
}

// earlier says whether kv, found by a call sent at at, may be this
// node's earlier run's (earlierLocked).
func (c *Client) earlier(kv KV, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.earlierLocked(kv, at)
}

// unreached records that a call the majority should have answered went
// unanswered (a connection a partition left hanging, while the rounds go
// through others): the client counts as unreachable until the next round
// reaches the majority, and both changes are told on Changes, so that a
// caller refused for it knows when to ask again.
func (c *Client) unreached(err error) {
	c.mu.Lock()
	was := c.reachable
	c.reachable, c.err = false, err
	if was {
		c.changed()
	}
	c.mu.Unlock()
	if was {
		c.log.Warn("arbiter majority unreachable", "err", err)
	}
}

// Release deletes addr's key if this client holds it, under its lease or
// one it held before (one transaction); held by another or by none, it
// leaves it alone. Held under this node's name by another lease (another
// host of this name, or an earlier run's lease yet to expire), it leaves
// it alone too, and says so: ErrTwin. Bounded by TTL/6.
func (c *Client) Release(ctx context.Context, addr string) error {
	now := c.clock.Now()
	c.mu.Lock()
	lease := c.leases[addr]
	if !c.ownLocked(lease) {
		lease = c.lease // 0 without one: the key is only read
	}
	c.mu.Unlock()
	cctx, cancel := c.call(ctx)
	defer cancel()
	key := c.addrKey(addr)
	kv, deleted, err := c.b.Release(cctx, key, c.cfg.Node, lease)
	if err == nil && !deleted && kv.Value == c.cfg.Node && kv.Lease != lease && c.own(kv.Lease) {
		kv, deleted, err = c.b.Release(cctx, key, c.cfg.Node, kv.Lease)
	}
	if err != nil {
		return fmt.Errorf("arbiter: release %s: %w", addr, err)
	}
	if deleted {
		kv = KV{}
	}
	c.saw(addr, kv, now)
	if kv.Value == c.cfg.Node {
		return fmt.Errorf("arbiter: release %s: %w (lease %x)", addr, ErrTwin, kv.Lease)
	}
	return nil
}

// saw records addr's key as a transaction sent at found it (KV{}: none).
func (c *Client) saw(addr string, kv KV, at time.Time) {
	c.mu.Lock()
	holder, twin := "", false
	if kv.Key != "" {
		holder, twin = c.holderLocked(kv, at)
	}
	old, had := c.holders[addr]
	if holder == "" {
		delete(c.holders, addr)
		delete(c.leases, addr)
	} else {
		c.holders[addr], c.leases[addr] = holder, kv.Lease
	}
	if old != holder || had != (holder != "") {
		c.changed() // under the lock: whoever sees the holder finds the token
	}
	tell := twin && c.tellLocked(kv.Lease)
	c.mu.Unlock()
	if tell {
		c.logTwin(kv)
	}
}
