package heartbeatd

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
)

// countedArbiter is the real client, counting how often heartbeatd looks
// at its deadline: once per wake of the key keeper.
type countedArbiter struct {
	Arbiter
	mu    sync.Mutex
	looks int
}

func (c *countedArbiter) Deadline() time.Time {
	c.mu.Lock()
	c.looks++
	c.mu.Unlock()
	return c.Arbiter.Deadline()
}

func (c *countedArbiter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.looks
}

// Cut from the arbiter's majority with FAILOVER_ARBITER_LOST=keep (the
// lease kept past its deadline), heartbeatd removes its service address
// and then waits for the arbiter's rounds and changes: it does not wake
// every millisecond for as long as the cut lasts.
func TestACutHeartbeatdDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		ca := &countedArbiter{}
		w := newArbWorld(t, m, arbOpts{service: true, keep: true, wrap: func(a Arbiter) Arbiter { ca.Arbiter = a; return ca }})
		waitFor(t, "heartbeatd holds the service address", 2*serviceRetry, w.held)
		m.Cut("server1", arbiter.DropRequests)
		waitFor(t, "the address removed after the cut", 2*arbTTL, func() bool { return !w.held() })
		before := ca.count()
		time.Sleep(20 * time.Second)
		if n := ca.count() - before; n > 200 {
			t.Fatalf("the key keeper woke %d times in 20 s of a cut, want about one a round (TTL/6)", n)
		}
	})
}
