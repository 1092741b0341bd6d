package arbiter

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Two hosts may go by one name (FAILOVER_NODE_NAME defaults to the host
// name up to its first dot; a cloned host, a copied configuration). The
// value of an address key cannot tell them apart; the lease it lives
// under can. So a claim succeeds only under this client's lease (or one
// it held before), and a key of this name under any other lease is
// another host's: TwinHolder.

// TwinHolder is the holder a Client names for an address key that holds
// node's name under a lease not its own: another host configured with
// the same name. It is never node itself, so that the daemons, which
// compare the holder with their own name, take it for another host's:
// they add nothing, and yield.
func TwinHolder(node string) string { return node + " (another host with this name)" }

// ErrTwin is Release's when the key holds this host's name under a lease
// not its own: it was left alone.
var ErrTwin = errors.New("arbiter: the key holds this host's name under a lease not its own (another host goes by this name, or an earlier run's lease has yet to expire)")

// EarlierRunSlack is how long past a TTL after a client's first lease
// was granted a key of its name under another lease may still be its
// earlier run's (a run killed and restarted, whose lease was neither
// revoked nor renewed since): an election timeout (etcd's default is 1
// s), which a new leader adds to every lease, and the time etcd takes to
// delete an expired lease's keys (it looks every 500 ms, and revokes
// through its log). Until then such a key is shown as this host's own
// (it is not claimed, and the address it stands for not removed); after
// it, as TwinHolder's.
const EarlierRunSlack = 2 * time.Second

// rememberedLeases is how many leases a client remembers having held
// (taken back by a claim, deleted by a release), and how many other
// leases under its name it remembers having told of. A lease replaced
// lives on the server a TTL (and an election timeout) at most once it is
// no longer renewed, and a client replaces at most one a TTL less the
// margin: a few would do.
const rememberedLeases = 8

// ownLocked says whether lease is this client's, now or before.
func (c *Client) ownLocked(lease LeaseID) bool {
	return lease != 0 && (lease == c.lease || slices.Contains(c.prior, lease))
}

// holderLocked is whom the view names for a key found by a call sent at
// at: its value, unless that is this node's name under a lease not this
// client's, sent more than a TTL and EarlierRunSlack after its first
// lease was granted (twin): then TwinHolder.
func (c *Client) holderLocked(kv KV, at time.Time) (holder string, twin bool) {
	if kv.Value != c.cfg.Node || c.ownLocked(kv.Lease) {
		return kv.Value, false
	}
	if c.withinEarlierLocked(at) {
		return kv.Value, false // perhaps its earlier run's, expiring
	}
	return TwinHolder(c.cfg.Node), true
}

// withinEarlierLocked says whether a key of this name under another
// lease, found by a call sent at at, may be this node's earlier run's:
// sent before a TTL and EarlierRunSlack after the first lease was
// granted (or before any was).
func (c *Client) withinEarlierLocked(at time.Time) bool {
	return c.firstGranted.IsZero() || at.Before(c.firstGranted.Add(c.ttlLocked()+EarlierRunSlack))
}

// earlierLocked says whether kv, found by a call sent at at, is a key of
// this node's name under a lease not this client's that may be its
// earlier run's: Adopt moves it under the current lease.
func (c *Client) earlierLocked(kv KV, at time.Time) bool {
	return kv.Value == c.cfg.Node && kv.Lease != 0 && !c.ownLocked(kv.Lease) && c.withinEarlierLocked(at)
}

// tellLocked says whether another lease under this name is to be told
// (once each).
func (c *Client) tellLocked(lease LeaseID) bool {
	if slices.Contains(c.told, lease) {
		return false
	}
	c.told = append(c.told, lease)
	if len(c.told) > rememberedLeases {
		c.told = c.told[1:]
	}
	return true
}

// rememberLocked adds a lease this client held to those it remembers.
func (c *Client) rememberLocked(lease LeaseID) {
	if lease == 0 || slices.Contains(c.prior, lease) {
		return
	}
	c.prior = append(c.prior, lease)
	if len(c.prior) > rememberedLeases {
		c.prior = c.prior[1:]
	}
}

// logTwin tells, once for each lease, of another host using this host's
// name: kv is a key of this name found under that lease.
func (c *Client) logTwin(kv KV) {
	c.log.Error("another host uses this host's name in the arbiter: a key of this name is held under another lease; the arbiter refuses this host the addresses that host holds, and the liveness of this name stands for either: set FAILOVER_NODE_NAME apart on each host",
		"key", kv.Key, "lease", fmt.Sprintf("%x", kv.Lease))
}
