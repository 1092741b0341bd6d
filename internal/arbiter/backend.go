package arbiter

import (
	"context"
	"errors"
	"time"
)

// LeaseID names a lease on the server; 0 is no lease.
type LeaseID int64

// KV is one key as a read found it.
type KV struct {
	Key, Value string
	Lease      LeaseID // the lease the key lives under; 0: none
}

// ErrLeaseNotFound says the server has no such lease: it expired or was
// revoked, and every key under it is gone.
var ErrLeaseNotFound = errors.New("arbiter: lease not found")

// Backend is what the Client needs of etcd: leases, three transactions
// and a linearizable read. Etcd speaks to a real cluster; Memory is an
// in-memory one for the simulation. Every call is bounded by its context:
// a backend that cannot reach the majority returns an error, at once or
// when the context ends, and never blocks past it.
type Backend interface {
	// Grant creates a lease of at least ttl; it returns the id and the
	// TTL the server granted (etcd rounds up to whole seconds and to its
	// minimum).
	Grant(ctx context.Context, ttl time.Duration) (LeaseID, time.Duration, error)
	// KeepAlive renews the lease once; it returns the TTL the server
	// restarted it with, or ErrLeaseNotFound.
	KeepAlive(ctx context.Context, id LeaseID) (time.Duration, error)
	// Revoke ends the lease and deletes its keys; an unknown lease is
	// ErrLeaseNotFound.
	Revoke(ctx context.Context, id LeaseID) error
	// Claim is one transaction: if key does not exist or holds value, put
	// value under lease and return value; otherwise return the value the
	// key holds and change nothing. A lease the server does not know is
	// ErrLeaseNotFound.
	Claim(ctx context.Context, key, value string, lease LeaseID) (holder string, err error)
	// Release deletes key if, and only if, it holds value (one
	// transaction); deleted says whether it did.
	Release(ctx context.Context, key, value string) (deleted bool, err error)
	// Put writes key = value under lease.
	Put(ctx context.Context, key, value string, lease LeaseID) error
	// List returns every key under prefix in key order, read through the
	// majority (linearizable: no older than any write acknowledged before
	// the call).
	List(ctx context.Context, prefix string) ([]KV, error)
	// Members counts the members: those that answer with a leader in
	// view, those that answer with none, those that refuse the
	// connection (no etcd runs there), of how many this backend knows.
	// For status, and for FAILOVER_ARBITER_LOST=keep, which holds on
	// while every member refuses (Client.DownDeadline).
	Members(ctx context.Context) MemberCount
}

// MemberCount is what Members found.
type MemberCount struct {
	Answering  int // with a leader in view
	Leaderless int // answering, with no leader in view
	Refusing   int // the connection refused: nothing listens there
	Total      int
}
