package heartbeatd

import (
	"context"
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

// blipRelease is the in-memory etcd for server1, whose link to it blips
// for the length of its first release of a key: refused (a blip that
// drops would hold the call for a sixth of the TTL under the service's
// lock, which testing/synctest cannot wait out: a goroutine waiting for a
// mutex is not durably blocked).
type blipRelease struct {
	arbiter.Backend
	m    *arbiter.Memory
	once sync.Once
}

func (b *blipRelease) Release(ctx context.Context, key, value string, lease arbiter.LeaseID) (arbiter.KV, bool, error) {
	blip := false
	b.once.Do(func() { blip = true })
	if blip {
		b.m.Cut("server1", arbiter.RefuseRequests)
		defer b.m.Heal("server1")
	}
	return b.Backend.Release(ctx, key, value, lease)
}

// The service checks fail: heartbeatd removes its service address for
// failoverd to take, and frees its key. A blip of its link to etcd at
// that moment loses the release; the key must not stay with heartbeatd,
// or no standby may take the address while heartbeatd lives, and the
// service is served by nobody.
func TestABlipAtTheYieldLeavesNoKeyBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := newArbWorld(t, m, arbOpts{service: true, backend: func(b arbiter.Backend) arbiter.Backend { return &blipRelease{Backend: b, m: m} }})
		waitFor(t, "heartbeatd holds the service address", 2*serviceRetry, w.held)
		s2 := standby(t, m, "server2")
		if err := w.svc.Yield(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		if w.held() {
			t.Fatal("heartbeatd holds the address again with its checks failing")
		}
		if h, err := s2.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server2" {
			t.Fatalf("10 s after heartbeatd yielded the address, the standby claims its key: holder %q, %v; want it", h, err)
		}
	})
}

// FAILOVER_ARBITER_LOST=keep: etcd down for everyone and back again.
// heartbeatd keeps its service address through the outage and through
// etcd's return (its members take connections again before a leader is
// elected), as failoverd does, with its lease renewed after.
func TestKeepHoldsTheServiceAddressThroughEtcdsReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := heldWithKey(t, m, true)
		holding := func(d time.Duration) bool {
			for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if !w.held() {
					return false
				}
			}
			return true
		}
		m.Down()
		if !holding(5 * arbTTL) {
			t.Fatal("every member down: the service address removed")
		}
		m.Up()
		if !holding(3 * arbTTL) {
			t.Fatalf("etcd back: the service address removed\n%s", w.logs)
		}
		if st := w.client.Status(); !st.Reachable || time.Until(st.Deadline) <= 0 {
			t.Fatalf("etcd back: the lease not renewed: %+v", st)
		}
	})
}
