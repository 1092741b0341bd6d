package arbiter

import (
	"context"
	"errors"
	"fmt"
)

// Claim asks for addr's key: held when it returns this node's name and
// no error. Another name is the holder, who keeps it. It is refused at
// once, without asking, when the lease is past its Deadline or missing
// (ErrNoLease) or the last round did not reach the majority
// (ErrUnreachable); otherwise the call is bounded by TTL/6. A claim lasts
// as long as the lease: the holder must be rid of the address before
// Deadline unless a later renewal moves it.
func (c *Client) Claim(ctx context.Context, addr string) (holder string, err error) {
	now := c.clock.Now()
	c.mu.Lock()
	id, deadline, reachable := c.lease, c.deadlineLocked(), c.reachable
	c.mu.Unlock()
	switch {
	case id == 0 || !now.Before(deadline):
		return "", ErrNoLease
	case !reachable:
		return "", ErrUnreachable
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	holder, err = c.b.Claim(cctx, c.addrKey(addr), c.cfg.Node, id)
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
	c.saw(addr, holder)
	return holder, nil
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

// Release deletes addr's key if this node holds it (one transaction);
// held by another or by none, it leaves it alone. Bounded by TTL/6.
func (c *Client) Release(ctx context.Context, addr string) error {
	cctx, cancel := c.call(ctx)
	defer cancel()
	if _, err := c.b.Release(cctx, c.addrKey(addr), c.cfg.Node); err != nil {
		return fmt.Errorf("arbiter: release %s: %w", addr, err)
	}
	c.mu.Lock()
	mine := c.holders[addr] == c.cfg.Node
	c.mu.Unlock()
	if mine {
		c.saw(addr, "")
	}
	return nil
}

// saw records addr's holder as a transaction found it ("" none).
func (c *Client) saw(addr, holder string) {
	c.mu.Lock()
	old, had := c.holders[addr]
	if holder == "" {
		delete(c.holders, addr)
	} else {
		c.holders[addr] = holder
	}
	if old != holder || had != (holder != "") {
		c.changed() // under the lock: whoever sees the holder finds the token
	}
	c.mu.Unlock()
}
