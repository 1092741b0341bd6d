package arbiter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultPrefix is where the keys live.
	DefaultPrefix = "/ipfailover"
	// DefaultTTL is the lease's time to live.
	DefaultTTL = 3 * time.Second
	// ClockRateError bounds how far a clock's rate may stray from true
	// time: 1000 ppm, twice what NTP ever slews a clock, and far more than
	// a quartz crystal drifts.
	ClockRateError = 1e-3
)

// Margin is what Deadline keeps back from a lease of ttl: a sixth of it,
// slack for the holder's own delays in removing its addresses, plus
// 2·ClockRateError·ttl, for this host's clock running slow while the
// server's runs fast (doc.go has the arithmetic). For 3 s: 506 ms.
func Margin(ttl time.Duration) time.Duration {
	return ttl/6 + time.Duration(2*ClockRateError*float64(ttl))
}

// Clock tells the time and waits; SystemClock is the default.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is Go's clock (a fake one under testing/synctest).
type SystemClock struct{}

func (SystemClock) Now() time.Time                         { return time.Now() }
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is what a Client needs.
type Config struct {
	// Node is this host's name: the value of the address keys it claims
	// and the last element of its liveness key. No "/" in it. Another
	// host of the same name is told apart by its lease (TwinHolder).
	Node string
	// Role is the value of the liveness key: "primary" or "standby <priority>".
	Role string
	// Prefix is where the keys live; DefaultPrefix when empty.
	Prefix string
	// TTL is the lease asked for; DefaultTTL when zero. The server may
	// grant more (etcd: whole seconds, at least 1.5 election timeouts).
	TTL time.Duration
	// KeepPastDeadline keeps renewing a lease whose Deadline passed
	// unrenewed until its DownDeadline, for a holder that keeps its
	// addresses while etcd is down for everyone and through its return
	// (FAILOVER_ARBITER_LOST=keep): when etcd answers again, the lease
	// and its keys are still there. Otherwise, and past both deadlines,
	// such a lease is let go (revoked, once the server may have expired
	// it anyway, if that arrives) and a new one granted: a holder past its
	// deadline has let its addresses go, and its keys must not outlive
	// them, as they would if its renewals reached the server while their
	// answers could not come back (a one-way cut: its members are silent,
	// not refusing, and no DownDeadline moves).
	KeepPastDeadline bool
	Clock            Clock        // SystemClock when nil
	Logger           *slog.Logger // discarded when nil
}

// Errors of Claim that refuse before asking the server.
var (
	ErrNoLease     = errors.New("arbiter: no live lease (none granted yet, or past its deadline)")
	ErrUnreachable = errors.New("arbiter: the etcd majority did not answer the last round")
)

// Client keeps this host's lease and liveness key, reads the holders of
// every address and the nodes alive, and claims and releases addresses.
// Run drives it; the other methods may be called from any goroutine.
type Client struct {
	b      Backend
	cfg    Config
	clock  Clock
	log    *slog.Logger
	every  time.Duration // between renewals: TTL/6
	bound  time.Duration // each call's deadline: TTL/6
	prefix string

	changes chan struct{}
	running atomic.Bool

	mu         sync.Mutex
	lease      LeaseID
	nodePut    bool          // the liveness key is written under lease
	ttl        time.Duration // as the server last granted or renewed it
	acked      time.Time     // send time of the last acknowledged grant or renewal
	reachable  bool
	rounds     int
	err        error
	answering  int
	refusing   int
	leaderless int
	members    int
	// allRefused: send time of the last member count in which every
	// member refused the connection (DownDeadline).
	allRefused time.Time
	readAt     time.Time          // send time of the last read that reached the majority
	holders    map[string]string  // address -> node (or TwinHolder), as last read (and claimed since)
	leases     map[string]LeaseID // address -> the lease its key was found under
	nodes      map[string]string  // node -> role, as last read
	losses     int
	lostAt     time.Time
	// firstGranted: when the answer to the first grant came; a key of
	// this name under another lease may be an earlier run's until a TTL
	// and EarlierRunSlack after it.
	firstGranted time.Time
	prior        []LeaseID // leases held before the current one, the latest last
	told         []LeaseID // other leases under this name told of
}

// New makes a Client; nothing is sent until Run.
func New(b Backend, cfg Config) (*Client, error) {
	if cfg.Node == "" || strings.Contains(cfg.Node, "/") {
		return nil, fmt.Errorf("arbiter: node name %q: it must be non-empty, without '/'", cfg.Node)
	}
	if cfg.TTL < 0 {
		return nil, fmt.Errorf("arbiter: TTL %v is negative", cfg.TTL)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Client{
		b:       b,
		cfg:     cfg,
		clock:   cfg.Clock,
		log:     cfg.Logger.With("node", cfg.Node),
		every:   cfg.TTL / 6,
		bound:   cfg.TTL / 6,
		prefix:  strings.TrimSuffix(cfg.Prefix, "/"),
		changes: make(chan struct{}, 1),
		holders: map[string]string{},
		leases:  map[string]LeaseID{},
		nodes:   map[string]string{},
	}, nil
}

func (c *Client) addrKey(addr string) string { return c.prefix + "/addr/" + addr }
func (c *Client) nodeKey(node string) string { return c.prefix + "/node/" + node }

// Run keeps the lease until ctx ends, then revokes it, which frees this
// host's keys at once. Stop it only once this host's addresses are gone:
// another host may claim them the moment it returns. Each round, every
// TTL/6, renews the lease once (or grants one and writes the liveness
// key) and reads the prefix.
func (c *Client) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("arbiter: Run called twice")
	}
	defer c.revoke(context.WithoutCancel(ctx))
	for {
		start := c.clock.Now()
		c.round(ctx)
		wait := c.every - c.clock.Now().Sub(start)
		// The round took its whole time: the next starts now, with no
		// timer. A timer of no wait, selected on under testing/synctest
		// and -race, crashed the race detector (SIGSEGV in
		// tsan SlotLock, from runtime.(*timer).maybeRunChan; Go 1.26.8)
		// in about one run of failoverd's TestKeepHoldsThroughEtcdsReturn
		// in a thousand.
		if wait <= 0 {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.clock.After(wait):
		}
	}
}

// call bounds one backend call.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.bound)
}

// errLettingGo: the lease is past its deadline and not yet let go; the
// round sends nothing, and says why the last one failed.
var errLettingGo = errors.New("past its deadline, let go once the server may have expired it")

func (c *Client) round(ctx context.Context) {
	// The members are asked beside the renewal, not after it: cut from
	// every member, each call lasts its bound, and in turn they made a
	// round of two bounds, so that a renewal after the cut healed came up
	// to two bounds late, past the deadline of a holder whose cut it
	// would have outlived.
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		c.countMembers(ctx)
	}()
	defer func() { <-counted }()
	err := c.renew(ctx)
	if errors.Is(err, errLettingGo) {
		c.mu.Lock()
		if c.err != nil {
			err = c.err
		}
		c.mu.Unlock()
	}
	var kvs []KV
	var readAt time.Time
	if err == nil {
		readAt = c.clock.Now()
		cctx, cancel := c.call(ctx)
		kvs, err = c.b.List(cctx, c.prefix+"/")
		cancel()
		if err != nil {
			err = fmt.Errorf("read %s/: %w", c.prefix, err)
		}
	}
	if ctx.Err() != nil {
		return // stopping: this round says nothing of the cluster
	}
	c.publish(err, kvs, readAt)
}

// countMembers asks each member whether it answers, refuses the
// connection, or is silent.
func (c *Client) countMembers(ctx context.Context) {
	cctx, cancel := c.call(ctx)
	sent := c.clock.Now()
	n := c.b.Members(cctx)
	cancel()
	c.mu.Lock()
	c.answering, c.refusing, c.leaderless, c.members = n.Answering, n.Refusing, n.Leaderless, n.Total
	if n.Total > 0 && n.Refusing == n.Total {
		c.allRefused = sent
	}
	c.mu.Unlock()
}

// renew renews the lease once, or grants a new one when there is none,
// and writes the liveness key under it when it is not written yet.
func (c *Client) renew(ctx context.Context) error {
	c.mu.Lock()
	id, put := c.lease, c.nodePut
	now := c.clock.Now()
	deadline, expirable := c.deadlineLocked(), c.expirableLocked()
	if c.cfg.KeepPastDeadline && !c.allRefused.IsZero() {
		// Kept while etcd is down for everyone, and through its
		// return (DownDeadline): not under a one-way cut, whose
		// members are silent, not refusing, and whose renewals, which
		// arrive, would keep the keys of a holder that let its
		// addresses go from everyone else.
		deadline = later(deadline, c.downDeadlineLocked())
		expirable = later(expirable, c.allRefused.Add(c.ttlLocked()))
	}
	past := id != 0 && !now.Before(deadline)
	c.mu.Unlock()
	if past {
		if now.Before(expirable) {
			// Its holder is removing its addresses: the lease is
			// neither renewed (its keys would outlive them) nor
			// revoked (that would free them at once) before the
			// server could have expired it anyway.
			return fmt.Errorf("%w: lease %x", errLettingGo, id)
		}
		c.letGo(ctx, id)
		id = 0
	}
	if id != 0 {
		sent := c.clock.Now()
		cctx, cancel := c.call(ctx)
		ttl, err := c.b.KeepAlive(cctx, id)
		cancel()
		switch {
		case err == nil:
			c.renewed(id, sent, ttl)
		case errors.Is(err, ErrLeaseNotFound):
			c.lost(id, gone)
			id = 0
		default:
			return fmt.Errorf("renew lease %x: %w", id, err)
		}
	}
	if id == 0 {
		sent := c.clock.Now()
		cctx, cancel := c.call(ctx)
		nid, ttl, err := c.b.Grant(cctx, c.cfg.TTL)
		cancel()
		if err != nil {
			return fmt.Errorf("grant a lease: %w", err)
		}
		c.granted(nid, sent, ttl)
		id, put = nid, false
	}
	if !put {
		cctx, cancel := c.call(ctx)
		err := c.b.Put(cctx, c.nodeKey(c.cfg.Node), c.cfg.Role, id)
		cancel()
		if errors.Is(err, ErrLeaseNotFound) {
			c.lost(id, gone)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", c.nodeKey(c.cfg.Node), err)
		}
		c.mu.Lock()
		c.nodePut = c.lease == id
		c.mu.Unlock()
	}
	return nil
}

func (c *Client) granted(id LeaseID, sent time.Time, ttl time.Duration) {
	c.mu.Lock()
	c.lease, c.nodePut, c.acked, c.ttl = id, false, sent, ttl
	if c.firstGranted.IsZero() {
		c.firstGranted = c.clock.Now()
	}
	c.mu.Unlock()
	c.log.Info("arbiter lease granted", "lease", fmt.Sprintf("%x", id), "ttl", ttl)
}

func (c *Client) renewed(id LeaseID, sent time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease == id {
		c.acked, c.ttl = sent, ttl
	}
}

const (
	gone    = "arbiter lease gone on the server: the addresses claimed under it are no longer held"
	letGone = "arbiter lease let go, past its deadline unrenewed: the addresses claimed under it are no longer held"
)

// lost forgets a lease and what lived under it; why says how it ended.
func (c *Client) lost(id LeaseID, why string) {
	c.mu.Lock()
	if c.lease != id {
		c.mu.Unlock()
		return
	}
	c.lease, c.nodePut, c.acked = 0, false, time.Time{}
	c.rememberLocked(id) // its keys, if the server still has them, are taken back
	c.losses++
	c.lostAt = c.clock.Now()
	for addr, node := range c.holders {
		if node == c.cfg.Node {
			delete(c.holders, addr)
		}
	}
	delete(c.nodes, c.cfg.Node)
	c.changed() // under the lock: whoever sees the loss finds the token
	c.mu.Unlock()
	c.log.Warn(why, "lease", fmt.Sprintf("%x", id))
}

// letGo gives up a lease past its deadline, once the server may have
// expired it (expirableLocked): its holder has let its addresses go, so
// its keys must not outlive it, as they would if a renewal reached the
// server while its answer could not come back. The revoke frees them at
// once if it arrives; if not, the lease expires. Sent at the deadline, it
// would free them while the holder is still removing its addresses.
func (c *Client) letGo(ctx context.Context, id LeaseID) {
	c.lost(id, letGone)
	cctx, cancel := c.call(ctx)
	defer cancel()
	_ = c.b.Revoke(cctx, id) // best effort: unanswered, the lease expires on its own
}

// publish records a round's outcome.
func (c *Client) publish(err error, kvs []KV, readAt time.Time) {
	c.mu.Lock()
	was, first := c.reachable, c.rounds == 0
	c.rounds++
	c.reachable, c.err = err == nil, err
	changed := was != c.reachable
	var twins []KV
	if err == nil {
		var holders, nodes map[string]string
		var leases map[string]LeaseID
		holders, leases, nodes, twins = c.parseLocked(kvs, readAt)
		changed = changed || !maps.Equal(holders, c.holders) || !maps.Equal(nodes, c.nodes)
		c.holders, c.leases, c.nodes, c.readAt = holders, leases, nodes, readAt
		twins = slices.DeleteFunc(twins, func(kv KV) bool { return !c.tellLocked(kv.Lease) })
	}
	deadline := c.deadlineLocked()
	if changed {
		c.changed() // under the lock: whoever sees the change finds the token
	}
	c.mu.Unlock()
	for _, kv := range twins {
		c.logTwin(kv)
	}
	switch {
	case err != nil && (was || first):
		c.log.Warn("arbiter majority unreachable", "err", err, "deadline", deadline)
	case err == nil && !was && !first:
		c.log.Info("arbiter majority reachable again")
	}
}

// parseLocked sorts a read sent at readAt into address holders (and the
// leases of their keys) and live nodes; twins are the keys of this
// node's name found under another lease, another host's: the liveness
// key written after this client's own, address keys as holderLocked
// says.
func (c *Client) parseLocked(kvs []KV, readAt time.Time) (holders map[string]string, leases map[string]LeaseID, nodes map[string]string, twins []KV) {
	holders, leases, nodes = map[string]string{}, map[string]LeaseID{}, map[string]string{}
	for _, kv := range kvs {
		if addr, ok := strings.CutPrefix(kv.Key, c.prefix+"/addr/"); ok {
			h, twin := c.holderLocked(kv, readAt)
			holders[addr], leases[addr] = h, kv.Lease
			if twin {
				twins = append(twins, kv)
			}
		} else if node, ok := strings.CutPrefix(kv.Key, c.prefix+"/node/"); ok {
			nodes[node] = kv.Value
			// Written under this lease, found under another: a
			// second host goes by this name.
			if node == c.cfg.Node && c.nodePut && c.lease != 0 && !c.ownLocked(kv.Lease) {
				twins = append(twins, kv)
			}
		}
	}
	return holders, leases, nodes, twins
}

// changed leaves a token for Changes, unless one waits already.
func (c *Client) changed() {
	select {
	case c.changes <- struct{}{}:
	default:
	}
}

// revoke ends the lease on a clean stop.
func (c *Client) revoke(ctx context.Context) {
	c.mu.Lock()
	id := c.lease
	c.lease, c.nodePut, c.acked, c.reachable = 0, false, time.Time{}, false
	c.changed()
	c.mu.Unlock()
	if id == 0 {
		return
	}
	cctx, cancel := c.call(ctx)
	defer cancel()
	if err := c.b.Revoke(cctx, id); err != nil && !errors.Is(err, ErrLeaseNotFound) {
		c.log.Warn("arbiter lease not revoked: its keys stay until it expires", "lease", fmt.Sprintf("%x", id), "err", err)
		return
	}
	c.log.Info("arbiter lease revoked", "lease", fmt.Sprintf("%x", id))
}
