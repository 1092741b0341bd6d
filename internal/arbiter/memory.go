package arbiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is an etcd cluster in memory, for the simulation and the tests:
// its members can be stopped and started, each client's connection can be
// cut from the majority, and its leases expire on the server's clock (the
// function it is given), as etcd's do on the leader's. It has no
// goroutine and no timer of its own: its state moves only when it is
// called, to the time its clock says, so a run under testing/synctest is
// deterministic.
//
// What it copies of etcd (v3.4 to v3.6):
//   - a granted TTL is rounded up to whole seconds and to the minimum,
//     1.5 election timeouts;
//   - leases expire only while there is a leader; without one they are
//     frozen, and a new leader restarts every lease at a full TTL plus an
//     election timeout (etcd's lessor.Promote);
//   - a leader is elected an election timeout after the majority is back
//     or the leader stopped (the lowest-numbered member that is up);
//   - a leader left without a majority goes on renewing leases (renewals
//     need no consensus) for an election timeout, until it steps down;
//     everything else waits for a new majority;
//   - a call without a leader waits until its context ends, as etcd's
//     client retries until then; so does a call cut by DropRequests or
//     DropAnswers; RefuseRequests fails at once.
//
// Expired keys vanish at the instant of expiry: real etcd deletes them a
// little later (it checks every 500 ms and revokes through the log), so
// Memory is the earliest any other client can take a key.
type Memory struct {
	now             func() time.Time
	electionTimeout time.Duration

	mu      sync.Mutex
	up      []bool
	leader  int       // index of the leader; -1: none
	electAt time.Time // when a leader will be elected, if leader < 0 and a majority is up
	// A leader that lost its majority renews leases until it steps down.
	lame      int // its index; -1: none
	lameUntil time.Time
	leases    map[LeaseID]*memLease
	lastID    LeaseID
	kv        map[string]*memKey
	cuts      map[string]Cut
}

type memLease struct {
	ttl    time.Duration
	expiry time.Time // meaningful only while there is a leader
	keys   map[string]bool
}

type memKey struct {
	value string
	lease LeaseID
}

// Cut says how a client's connection to the majority fails.
type Cut int

const (
	// Connected: no cut.
	Connected Cut = iota
	// DropRequests: requests never arrive; each call waits until its
	// context ends (a partition that drops packets).
	DropRequests
	// RefuseRequests: each call fails at once (connection refused, or a
	// member that knows it has no leader).
	RefuseRequests
	// DropAnswers: requests arrive and take effect, answers are lost; each
	// call waits until its context ends. A renewal that worked unseen.
	DropAnswers
)

func (c Cut) String() string {
	switch c {
	case Connected:
		return "connected"
	case DropRequests:
		return "drop-requests"
	case RefuseRequests:
		return "refuse-requests"
	case DropAnswers:
		return "drop-answers"
	}
	return fmt.Sprintf("Cut(%d)", int(c))
}

// MemoryConfig describes the cluster.
type MemoryConfig struct {
	Now             func() time.Time // the server's clock; time.Now when nil
	Members         int              // default 3
	ElectionTimeout time.Duration    // default 1 s, etcd's
}

// ErrRefused is what a connection cut by RefuseRequests returns.
var ErrRefused = errors.New("arbiter: memory etcd: connection refused")

// NewMemory starts a cluster with every member up and a leader.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Members <= 0 {
		cfg.Members = 3
	}
	if cfg.ElectionTimeout <= 0 {
		cfg.ElectionTimeout = time.Second
	}
	m := &Memory{
		now:             cfg.Now,
		electionTimeout: cfg.ElectionTimeout,
		up:              make([]bool, cfg.Members),
		leader:          0,
		lame:            -1,
		leases:          map[LeaseID]*memLease{},
		kv:              map[string]*memKey{},
		cuts:            map[string]Cut{},
	}
	for i := range m.up {
		m.up[i] = true
	}
	return m
}

// Conn is one client's connection; the name is what Cut and Heal call it.
func (m *Memory) Conn(client string) *MemoryConn { return &MemoryConn{m: m, client: client} }

// Cut cuts a client from the majority, the way how says.
func (m *Memory) Cut(client string, how Cut) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advanceLocked()
	m.cuts[client] = how
}

// Heal joins a client to the majority again.
func (m *Memory) Heal(client string) { m.Cut(client, Connected) }

// StopMember stops member i (from 0).
func (m *Memory) StopMember(i int) { m.setMember(i, false) }

// StartMember starts member i again.
func (m *Memory) StartMember(i int) { m.setMember(i, true) }

// Down stops every member.
func (m *Memory) Down() {
	for i := range m.members() {
		m.setMember(i, false)
	}
}

// Up starts every member.
func (m *Memory) Up() {
	for i := range m.members() {
		m.setMember(i, true)
	}
}

func (m *Memory) members() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.up)
}

func (m *Memory) setMember(i int, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advanceLocked() // leases that expired before the change go first
	had := m.majorityLocked()
	m.up[i] = up
	switch {
	case !m.majorityLocked():
		if had && m.leader >= 0 && m.up[m.leader] {
			m.lame, m.lameUntil = m.leader, m.now().Add(m.electionTimeout)
		}
		m.leader = -1
	case !had || (m.leader == i && !up):
		// a majority again, or the leader gone: an election follows
		m.leader, m.lame = -1, -1
		m.electAt = m.now().Add(m.electionTimeout)
	}
	m.advanceLocked()
}

func (m *Memory) majorityLocked() bool {
	n := 0
	for _, u := range m.up {
		if u {
			n++
		}
	}
	return n > len(m.up)/2
}

// advanceLocked brings the cluster to now: a pending election is held,
// promoting every lease, and leases past their expiry are revoked.
func (m *Memory) advanceLocked() {
	now := m.now()
	if m.leader < 0 {
		if !m.majorityLocked() || now.Before(m.electAt) {
			return
		}
		m.leader, m.lame = slices.Index(m.up, true), -1
		for _, l := range m.leases {
			l.expiry = m.electAt.Add(m.electionTimeout + l.ttl)
		}
	}
	for id, l := range m.leases {
		if !now.Before(l.expiry) {
			m.revokeLocked(id)
		}
	}
}

func (m *Memory) revokeLocked(id LeaseID) {
	for k := range m.leases[id].keys {
		delete(m.kv, k)
	}
	delete(m.leases, id)
}

// HasLeader says whether the cluster has a leader now.
func (m *Memory) HasLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advanceLocked()
	return m.leader >= 0
}

// Get reads a key as the server holds it now, whatever any cut.
func (m *Memory) Get(key string) (KV, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advanceLocked()
	k, ok := m.kv[key]
	if !ok {
		return KV{}, false
	}
	return KV{Key: key, Value: k.value, Lease: k.lease}, true
}

// LeaseExpiry says when the server will expire a lease, on its clock; ok
// is false when the lease is gone. Without a leader the lease waits: the
// time is zero.
func (m *Memory) LeaseExpiry(id LeaseID) (at time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.advanceLocked()
	l, ok := m.leases[id]
	if !ok || m.leader < 0 {
		return time.Time{}, ok
	}
	return l.expiry, true
}

// MemoryConn is one client's connection to a Memory cluster: a Backend.
type MemoryConn struct {
	m      *Memory
	client string
}

var _ Backend = (*MemoryConn)(nil)

// do runs op against the cluster as the connection's cut allows; a
// renewal is served by a leader that lost its majority too.
func (c *MemoryConn) do(ctx context.Context, renewal bool, op func() error) error {
	m := c.m
	m.mu.Lock()
	m.advanceLocked()
	cut := m.cuts[c.client]
	lame := renewal && m.lame >= 0 && m.up[m.lame] && m.now().Before(m.lameUntil)
	var err error
	switch {
	case cut == RefuseRequests:
		m.mu.Unlock()
		return ErrRefused
	case cut == DropRequests || (m.leader < 0 && !lame):
		m.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	default:
		if err = ctx.Err(); err == nil {
			err = op()
		}
	}
	m.mu.Unlock()
	if cut == DropAnswers {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

// grantedTTL is etcd's rounding: whole seconds, at least 1.5 election
// timeouts.
func (m *Memory) grantedTTL(ttl time.Duration) time.Duration {
	least := time.Duration(math.Ceil((m.electionTimeout * 3 / 2).Seconds())) * time.Second
	return max(time.Duration(math.Ceil(ttl.Seconds()))*time.Second, least)
}

func (c *MemoryConn) Grant(ctx context.Context, ttl time.Duration) (id LeaseID, granted time.Duration, err error) {
	err = c.do(ctx, false, func() error {
		m := c.m
		m.lastID++
		id, granted = m.lastID, m.grantedTTL(ttl)
		m.leases[id] = &memLease{ttl: granted, expiry: m.now().Add(granted), keys: map[string]bool{}}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return id, granted, nil
}

func (c *MemoryConn) KeepAlive(ctx context.Context, id LeaseID) (ttl time.Duration, err error) {
	err = c.do(ctx, true, func() error {
		l, ok := c.m.leases[id]
		if !ok {
			return ErrLeaseNotFound
		}
		l.expiry, ttl = c.m.now().Add(l.ttl), l.ttl
		return nil
	})
	return ttl, err
}

func (c *MemoryConn) Revoke(ctx context.Context, id LeaseID) error {
	return c.do(ctx, false, func() error {
		if _, ok := c.m.leases[id]; !ok {
			return ErrLeaseNotFound
		}
		c.m.revokeLocked(id)
		return nil
	})
}

// putLocked writes key under lease, moving it off any lease it had.
func (m *Memory) putLocked(key, value string, lease LeaseID) error {
	l, ok := m.leases[lease]
	if lease != 0 && !ok {
		return ErrLeaseNotFound
	}
	if old, ok := m.kv[key]; ok && old.lease != 0 {
		delete(m.leases[old.lease].keys, key)
	}
	m.kv[key] = &memKey{value: value, lease: lease}
	if lease != 0 {
		l.keys[key] = true
	}
	return nil
}

func (m *Memory) deleteLocked(key string) {
	if old, ok := m.kv[key]; ok && old.lease != 0 {
		delete(m.leases[old.lease].keys, key)
	}
	delete(m.kv, key)
}

func (c *MemoryConn) Claim(ctx context.Context, key, value string, lease, from LeaseID) (kv KV, err error) {
	err = c.do(ctx, false, func() error {
		k, ok := c.m.kv[key]
		if ok && (k.value != value || (k.lease != lease && (from == 0 || k.lease != from))) {
			kv = KV{Key: key, Value: k.value, Lease: k.lease}
			return nil
		}
		if ok && k.lease == lease {
			kv = KV{Key: key, Value: value, Lease: lease}
			return nil // held already: nothing to write
		}
		if err := c.m.putLocked(key, value, lease); err != nil {
			return err
		}
		kv = KV{Key: key, Value: value, Lease: lease}
		return nil
	})
	if err != nil {
		return KV{}, err
	}
	return kv, nil
}

func (c *MemoryConn) Release(ctx context.Context, key, value string, lease LeaseID) (found KV, deleted bool, err error) {
	err = c.do(ctx, false, func() error {
		k, ok := c.m.kv[key]
		if !ok {
			return nil
		}
		found = KV{Key: key, Value: k.value, Lease: k.lease}
		if lease != 0 && k.value == value && k.lease == lease {
			c.m.deleteLocked(key)
			deleted = true
		}
		return nil
	})
	if err != nil {
		return KV{}, false, err
	}
	return found, deleted, nil
}

func (c *MemoryConn) Put(ctx context.Context, key, value string, lease LeaseID) error {
	return c.do(ctx, false, func() error { return c.m.putLocked(key, value, lease) })
}

func (c *MemoryConn) List(ctx context.Context, prefix string) (kvs []KV, err error) {
	err = c.do(ctx, false, func() error {
		for k, v := range c.m.kv {
			if strings.HasPrefix(k, prefix) {
				kvs = append(kvs, KV{Key: k, Value: v.value, Lease: v.lease})
			}
		}
		slices.SortFunc(kvs, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
		return nil
	})
	return kvs, err
}

// Members: the members that are up answer, with a leader in view, unless
// the connection is cut; without a leader none does. A member that is
// down refuses the connection, as does every member to a client cut by
// RefuseRequests. A client cut by DropRequests or DropAnswers hears from
// none, once its context ends, as Etcd's asks wait for silent members.
func (c *MemoryConn) Members(ctx context.Context) MemberCount {
	m := c.m
	m.mu.Lock()
	cut := m.cuts[c.client]
	if cut == DropRequests || cut == DropAnswers {
		n := MemberCount{Total: len(m.up)}
		m.mu.Unlock()
		<-ctx.Done()
		return n
	}
	defer m.mu.Unlock()
	m.advanceLocked()
	n := MemberCount{Total: len(m.up)}
	switch cut {
	case RefuseRequests:
		n.Refusing = n.Total
	case Connected:
		for _, u := range m.up {
			switch {
			case !u:
				n.Refusing++
			case m.leader >= 0:
				n.Answering++
			default:
				n.Leaderless++
			}
		}
	}
	return n
}
