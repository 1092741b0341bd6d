package failoverd

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

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

// raceClaims is the in-memory etcd for server2, where another host's
// claim gets in just before server2's first: the race of a takeover with
// heartbeatd claiming its service addresses again as it starts.
type raceClaims struct {
	arbiter.Backend
	once   sync.Once
	before func()
}

func (r *raceClaims) Claim(ctx context.Context, key, value string, lease, from arbiter.LeaseID) (arbiter.KV, error) {
	r.once.Do(r.before)
	return r.Backend.Claim(ctx, key, value, lease, from)
}

// A takeover the arbiter refuses part way (the first address's key
// granted, the second claimed by the primary a moment before) adds
// nothing, and must keep no key either: a key kept for an address this
// host does not hold keeps its owner from it (heartbeatd adds a service
// address only once it holds its key) for as long as this host lives.
func TestARefusedTakeoverKeepsNoKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		primary, _ := arbiterClient(t, m, "server1", "primary")
		synctest.Wait()
		time.Sleep(time.Second)
		b := &raceClaims{Backend: m.Conn("server2"), before: func() {
			if h, err := primary.Claim(context.Background(), "198.51.100.2"); err != nil || h != "server1" {
				t.Errorf("the primary's claim: %q, %v", h, err)
			}
		}}
		c, err := arbiter.New(b, arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		second := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.2/32")}
		w := newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = c }, func(c *Config) {
			c.Addresses = append(c.Addresses, second)
		})
		w.beatFor(time.Second)
		time.Sleep(5 * time.Second) // heartbeatd restarting: silence, a takeover, refused
		if _, ok := w.notices.last(notice.TakeoverFailed); !ok {
			t.Fatalf("no takeover-failed notice: %v", w.notices.kinds())
		}
		w.beatFor(5 * time.Second) // heartbeatd runs again
		if len(w.mover.Holding()) != 0 {
			t.Fatalf("holding %v after a refused takeover", w.mover.Holding())
		}
		if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the primary, heard again, claims 198.51.100.1: holder %q, %v; server2 kept the key of an address it does not hold", h, err)
		}
	})
}

// blipRelease is the in-memory etcd for server2, whose link to it blips
// (requests dropped) for the length of its first release of a key.
type blipRelease struct {
	arbiter.Backend
	m    *arbiter.Memory
	once sync.Once
}

func (b *blipRelease) Release(ctx context.Context, key, value string, lease arbiter.LeaseID) (found arbiter.KV, deleted bool, err error) {
	blip := false
	b.once.Do(func() { blip = true })
	if blip {
		b.m.Cut("server2", arbiter.DropRequests)
		defer b.m.Heal("server2")
	}
	return b.Backend.Release(ctx, key, value, lease)
}

// A blip of the standby's link to etcd while it gives the addresses back
// loses the release of their keys. The keys must not stay with it for as
// long as it lives: the live primary could never claim them again (nor
// add a service address).
func TestABlipAtTheGiveBackLeavesNoKeyBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		primary, _ := arbiterClient(t, m, "server1", "primary")
		synctest.Wait()
		time.Sleep(time.Second)
		if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the primary's claim: %q, %v", h, err)
		}
		c, err := arbiter.New(&blipRelease{Backend: m.Conn("server2"), m: m}, arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		w := newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = c })
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Active, 3*arbTTL)
		m.Heal("server1") // it is back (its lease is a new one: the old expired)
		w.beatFor(10 * time.Second)
		if len(w.mover.Holding()) != 0 {
			t.Fatalf("holding %v with the primary back", w.mover.Holding())
		}
		if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the primary, back for 10 s, claims 198.51.100.1: holder %q, %v; want it", h, err)
		}
	})
}

// failoverd started again holding the addresses (a killed run left
// them), the primary gone: it claims their free keys, so that the
// arbiter names it and no other standby may claim them while it answers.
func TestAddressesLeftByAKilledRunGetTheirKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		c, err := arbiter.New(m.Conn("server2"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		w := newWorldDeps(t, true, nil, nil, func(d *Deps) { d.Arbiter = c })
		time.Sleep(5 * time.Second)
		if len(w.mover.Holding()) == 0 {
			t.Fatalf("the addresses left by the killed run went: state %s", w.d.State())
		}
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/198.51.100.1"); !ok || kv.Value != "server2" {
			t.Fatalf("holding 198.51.100.1 for 5 s, its key is %+v (%v): free for any other standby to claim", kv, ok)
		}
	})
}

// A holder frozen (a VM paused or suspended: its clock stopped with it,
// so its deadline did not come) while its lease expired and another
// standby claimed the key and took the addresses. At resume both answer
// for them: the holder, told by its next round that its lease is gone and
// the key another's, removes them at once, as at its deadline, and runs
// the give-back's hooks after; not only once its PreRel hooks are done.
func TestAHolderWhoseKeyIsAnothersRemovesTheAddressesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Active, 3*arbTTL)
		// Frozen: its lease expired on the server meanwhile (revoked
		// here), and server3 took the key.
		gate := make(chan struct{})
		w.hooks.mu.Lock()
		w.hooks.gate[hooks.PreRel] = gate
		w.hooks.mu.Unlock()
		t.Cleanup(func() { close(gate) }) // before the world stops: its give-back ends
		other := m.Conn("server3")
		if err := other.Revoke(context.Background(), w.d.Arbiter.Status().Lease); err != nil {
			t.Fatal(err)
		}
		s3, _ := arbiterClient(t, m, "server3", "standby 50")
		for !s3.Reachable() {
			time.Sleep(10 * time.Millisecond)
		}
		if h, err := s3.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server3" {
			t.Fatalf("server3's claim: %q, %v", h, err)
		}
		start := time.Now()
		for len(w.mover.Holding()) > 0 {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("server2 still answers for the address 2 s after server3 took its key (state %s, its give-back waiting for its PreRel hooks)", w.d.State())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
