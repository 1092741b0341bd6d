package failoverd

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/failover"
)

// keepWorld is arbiterWorld with FAILOVER_ARBITER_LOST=keep: the
// client keeps its lease past the deadline, and a holder keeps the
// addresses while every member refuses.
func keepWorld(t *testing.T, m *arbiter.Memory) *world {
	primary, _ := arbiterClient(t, m, "server1", "primary")
	synctest.Wait()
	time.Sleep(time.Second)
	if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
		t.Fatalf("the primary's claim: %q, %v", h, err)
	}
	c, err := arbiter.New(m.Conn("server2"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
		KeepPastDeadline: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = c }, func(c *Config) { c.ArbiterKeep = true })
}

// etcd down for everyone while a standby holds the addresses, with
// FAILOVER_ARBITER_LOST=keep: it keeps them, and says so once, not once
// a millisecond for as long as the outage lasts.
func TestKeepingThroughAnEtcdOutageIsSaidOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := keepWorld(t, m)
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Active, 3*arbTTL)
		m.Down()
		time.Sleep(20 * time.Second)
		if len(w.mover.Holding()) == 0 {
			t.Fatal("the addresses went with every member refusing, FAILOVER_ARBITER_LOST=keep")
		}
		if n := len(w.logs.lines("every arbiter member refuses")); n > 1 {
			t.Fatalf("the keep warning logged %d times in 20 s of outage, want once", n)
		}
	})
}

// countedArbiter is the real client, counting how often the daemon
// looks at its deadline: once per wake of the watch.
type countedArbiter struct {
	*arbiter.Client
	mu    sync.Mutex
	looks int
}

func (c *countedArbiter) Deadline() time.Time {
	c.mu.Lock()
	c.looks++
	c.mu.Unlock()
	return c.Client.Deadline()
}

func (c *countedArbiter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.looks
}

// A standby cut from the arbiter's majority (FAILOVER_ARBITER_LOST=keep:
// its lease is kept past the deadline) waits for the arbiter's rounds
// and changes; it does not wake every millisecond for as long as the
// cut lasts.
func TestAStandbyCutFromTheMajorityDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		c, err := arbiter.New(m.Conn("server2"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			KeepPastDeadline: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ca := &countedArbiter{Client: c}
		w := newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = ca }, func(c *Config) { c.ArbiterKeep = true })
		w.beatFor(2 * time.Second)
		m.Cut("server2", arbiter.DropRequests)
		time.Sleep(2 * arbTTL) // past the deadline
		before := ca.count()
		for range 20 {
			w.beat(links...)
			time.Sleep(time.Second)
		}
		// A round is every TTL/6: 40 in 20 s.
		if n := ca.count() - before; n > 200 {
			t.Fatalf("the arbiter's watch woke %d times in 20 s of a cut, want about one a round", n)
		}
		if s := w.d.State(); s != failover.Standby {
			t.Fatalf("state %s", s)
		}
	})
}
