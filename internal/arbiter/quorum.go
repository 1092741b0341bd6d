package arbiter

import (
	"context"
	"time"
)

// Quorum is what the daemons use of a Client: heartbeatd and failoverd
// each take one (their Arbiter), so that their tests can give them a
// Client over Memory and their callers one over Etcd.
type Quorum interface {
	// Run keeps the lease until ctx ends, then revokes it.
	Run(ctx context.Context) error
	Claim(ctx context.Context, addr string) (holder string, err error)
	// Adopt is Claim for an address this host holds already (left by
	// an earlier run): see Client.Adopt.
	Adopt(ctx context.Context, addr string) (holder string, err error)
	Release(ctx context.Context, addr string) error
	Deadline() time.Time
	DownDeadline() time.Time
	Changes() <-chan struct{}
	Status() Status
}

var _ Quorum = (*Client)(nil)
