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
	// Claim is one transaction: if key does not exist, or holds value
	// under lease, or (from not 0) holds value under from, put value
	// under lease; otherwise change nothing. It returns the key as the
	// transaction left it: claimed when it holds value under lease. The
	// lease is compared, not only the value, because two hosts may go by
	// one name (a cloned host, a copied configuration): the value cannot
	// tell them apart, their leases can. from is a lease of the caller's
	// own that it replaced while the server may still hold it (let go
	// past its deadline, the revoke lost): its keys are taken back. A
	// lease the server does not know is ErrLeaseNotFound.
	Claim(ctx context.Context, key, value string, lease, from LeaseID) (KV, error)
	// Release deletes key if, and only if, it holds value under lease
	// (one transaction): never a key of the same value under another
	// lease, another host's of the same name. It returns the key as it
	// found it (KV{} when there was none) and whether it deleted it.
	// Lease 0 deletes nothing: it only reads the key.
	Release(ctx context.Context, key, value string, lease LeaseID) (found KV, deleted bool, err error)
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
