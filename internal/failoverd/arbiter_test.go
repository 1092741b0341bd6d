package failoverd

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

const arbTTL = 3 * time.Second

// arbiterClient is a real arbiter client named node over the in-memory
// etcd, run until the test ends (or stop).
func arbiterClient(t *testing.T, m *arbiter.Memory, node, role string) (*arbiter.Client, context.CancelFunc) {
	t.Helper()
	c, err := arbiter.New(m.Conn(node), arbiter.Config{Node: node, Role: role, TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return c, stop
}

// arbiterWorld is a runtime, server2, whose arbiter is a real client of
// m; the primary, server1, keeps a lease of its own and holds the key of
// the address, as heartbeatd does.
func arbiterWorld(t *testing.T, m *arbiter.Memory) (*world, *arbiter.Client) {
	return arbiterWorldLost(t, m, false)
}

// arbiterWorldLost is arbiterWorld with FAILOVER_ARBITER_LOST=keep when
// keep, release when not.
func arbiterWorldLost(t *testing.T, m *arbiter.Memory, keep bool) (*world, *arbiter.Client) {
	primary, _ := arbiterClient(t, m, "server1", "primary")
	synctest.Wait()
	time.Sleep(time.Second) // its first round
	if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
		t.Fatalf("the primary's claim: %q, %v", h, err)
	}
	c, err := arbiter.New(m.Conn("server2"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL, KeepPastDeadline: keep,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = c }, func(c *Config) { c.ArbiterKeep = keep })
	return w, primary
}

// The heartbeat links cut while the primary lives and renews its lease:
// no takeover, and a notice that says the links are cut. Once its lease
// has expired (its power off), the takeover, with the key.
func TestNoTakeoverWhileThePrimaryRenewsThroughTheArbiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		w.beatFor(time.Second)
		time.Sleep(10 * time.Second) // the links cut: silence
		if s := w.d.State(); s != failover.Standby {
			t.Fatalf("state %s with the links cut and the primary renewing, want standby; notices %v", s, w.notices.kinds())
		}
		n, ok := w.notices.last(notice.Anomaly)
		if !ok || !strings.Contains(n.Detail, "the heartbeat links are cut") {
			t.Fatalf("no links-cut notice: %v", w.notices.kinds())
		}
		if len(w.hooks.stages()) != 0 || len(w.mover.Holding()) != 0 {
			t.Fatalf("hooks %v, holding %v", w.hooks.stages(), w.mover.Holding())
		}
		// The primary's power goes off: its renewals stop.
		m.Cut("server1", arbiter.DropRequests)
		start := time.Now()
		w.waitState(failover.Active, 2*arbTTL)
		if took := time.Since(start); took > arbTTL+time.Second {
			t.Fatalf("took over %v after the primary's last renewal could be sent, want at most the TTL and a round", took)
		}
		if st := w.d.Arbiter.Status(); st.Holders["198.51.100.1"] != "server2" {
			t.Fatalf("holders %v, want server2", st.Holders)
		}
	})
}

// A holder cut from the arbiter's majority removes its addresses before
// its lease can have expired on the server, and tells why.
func TestAHolderCutFromTheMajorityLetsGoBeforeItsLeaseExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, primary := arbiterWorld(t, m)
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		_ = primary
		w.waitState(failover.Active, 3*arbTTL)
		cut := time.Now()
		m.Cut("server2", arbiter.DropRequests)
		for len(w.mover.Holding()) > 0 {
			if time.Since(cut) > 2*arbTTL {
				t.Fatal("still holding the addresses two TTLs after the cut")
			}
			time.Sleep(10 * time.Millisecond)
		}
		gone := time.Now()
		// The server still counts server2's lease alive then: nobody
		// else could have claimed the key yet.
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/198.51.100.1"); !ok || kv.Value != "server2" {
			t.Fatalf("at %v after the cut, with the addresses gone, the key is %+v (%v): the lease expired first", gone.Sub(cut), kv, ok)
		}
		if _, ok := w.notices.last(notice.ArbiterLost); !ok {
			t.Fatalf("no arbiter-lost notice: %v", w.notices.kinds())
		}
	})
}

// A standby cut from the majority takes nothing, whatever the links say.
func TestAStandbyCutFromTheMajorityTakesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		w.beatFor(time.Second)
		m.Cut("server2", arbiter.DropRequests)
		m.Cut("server1", arbiter.DropRequests) // and the primary dies
		time.Sleep(30 * time.Second)
		if s := w.d.State(); s == failover.Active || s == failover.Acquiring || len(w.mover.Holding()) != 0 {
			t.Fatalf("state %s, holding %v, cut from the majority", s, w.mover.Holding())
		}
		if y := w.d.Status().Yielding; y == nil || !y.Arbiter {
			t.Fatalf("yielding %+v, want the arbiter's unreachable majority", y)
		}
	})
}

// FAILOVER_ARBITER_LOST=keep: every member down, the holder keeps its
// addresses and says so once; the members back, it keeps them through
// their election (they take connections, and have no leader yet) and
// renews its lease, its key still its own. It removed them the moment a
// member took connections again (its deadline long past), and logged
// that it kept them at every millisecond while etcd was down.
func TestKeepHoldsThroughEtcdsReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorldLost(t, m, true)
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Active, 3*arbTTL)
		holding := func(d time.Duration) bool {
			for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if len(w.mover.Holding()) == 0 {
					return false
				}
			}
			return true
		}
		m.Down()
		if !holding(5 * arbTTL) {
			t.Fatalf("every member down: the addresses removed; notices %v", w.notices.kinds())
		}
		if n := len(w.logs.lines("keeping the addresses")); n != 1 {
			t.Errorf("said %d times that it keeps the addresses, want once", n)
		}
		m.Up()
		if !holding(3 * arbTTL) {
			t.Fatalf("etcd back: the addresses removed; notices %v\n%s", w.notices.kinds(), strings.Join(w.logs.lines("arbiter"), "\n"))
		}
		if _, ok := w.notices.last(notice.ArbiterLost); ok || w.d.State() != failover.Active {
			t.Fatalf("etcd back: state %s, notices %v", w.d.State(), w.notices.kinds())
		}
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/198.51.100.1"); !ok || kv.Value != "server2" {
			t.Fatalf("etcd back: the key is %+v (%v), want server2's", kv, ok)
		}
		if st := w.d.Arbiter.Status(); !st.Reachable || time.Until(st.Deadline) <= 0 {
			t.Fatalf("etcd back: the lease not renewed: %+v", st)
		}
	})
}

// failoverd just started, its arbiter's first round done before the
// primary's first heartbeat: no links-cut notice for a primary not heard
// yet within the initial grace (it was sent 20 ms after the start in half
// the lab's runs, and, sent once per silence, none came for the links
// cut a moment later); the links cut once it was heard, the notice.
func TestNoLinksCutNoticeBeforeTheFirstHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		time.Sleep(timeout / 2) // the arbiter's first round is done
		w.beatFor(time.Second)
		if _, ok := w.notices.last(notice.Anomaly); ok {
			t.Fatalf("a notice before the first heartbeat: %v", w.notices.kinds())
		}
		time.Sleep(10 * time.Second) // the links cut
		if n, ok := w.notices.last(notice.Anomaly); !ok || !strings.Contains(n.Detail, "the heartbeat links are cut") {
			t.Fatalf("no links-cut notice: %v", w.notices.kinds())
		}
	})
}

// The primary's power off: its liveness key stays until its lease
// expires on the server, but it renews nothing. No links-cut notice
// meanwhile (it said the links were cut, and that the primary renewed,
// at every power-off of the lab's primary with the arbiter), and the
// takeover once the lease expired.
func TestNoLinksCutNoticeForAPrimaryWhoseLeaseRunsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Active, 3*arbTTL)
		if _, ok := w.notices.last(notice.Anomaly); ok {
			t.Fatalf("a notice for a primary whose lease ran out: %v", w.notices.kinds())
		}
	})
}

// The takeover's claim times out once (a connection the cut left hanging,
// while the rounds go through others): the takeover stops, and is tried
// again as soon as a round reaches the majority, not after VetoRetry (30
// s): nothing the arbiter said had changed, and the lab's standby left a
// dead primary's address unserved that long after a partition healed.
func TestAClaimThatTimedOutIsTriedAgainAfterTheNextRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w, _ := arbiterWorld(t, m)
		gate := make(chan struct{})
		w.hooks.mu.Lock()
		w.hooks.gate[hooks.Test] = gate
		w.hooks.mu.Unlock()
		w.beatFor(time.Second)
		m.Cut("server1", arbiter.DropRequests) // the primary's power off
		w.waitState(failover.Acquiring, 3*arbTTL)
		// Right after a round: the claim's request is lost, the next
		// round's go through.
		read := w.d.Arbiter.Status().ReadAt
		for w.d.Arbiter.Status().ReadAt.Equal(read) {
			time.Sleep(time.Millisecond)
		}
		m.Cut("server2", arbiter.DropRequests)
		close(gate)
		time.Sleep(50 * time.Millisecond)
		m.Heal("server2")
		// The takeover stops (it may be tried again at once, when a
		// round reached the majority before its end was applied).
		failed := time.Now()
		for {
			if _, ok := w.notices.last(notice.TakeoverFailed); ok {
				break
			}
			if time.Since(failed) > arbTTL {
				t.Fatalf("no takeover-failed notice: notices %v, state %s", w.notices.kinds(), w.d.State())
			}
			time.Sleep(time.Millisecond)
		}
		if n, _ := w.notices.last(notice.TakeoverFailed); !strings.Contains(n.Detail, "deadline") {
			t.Fatalf("the claim did not time out: %s", n.Detail)
		}
		if took := w.waitState(failover.Active, 10*time.Second); took > 2*time.Second {
			t.Fatalf("taken over %v after the claim timed out, want within a round or two", took)
		}
	})
}

// Another host goes by this host's name (a cloned standby, a copied
// configuration file): it holds the address's key and renews its lease.
// The primary silent, server2 takes nothing: the arbiter refuses its
// claim, and it yields to that host, which it names as another; its log
// says once that another host uses its name. The other host's key stays
// its own.
func TestAnotherHostOfThisNameHoldingTheKeyIsNotTakenFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		clone, err := arbiter.New(m.Conn("server2-clone"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = clone.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		synctest.Wait()
		time.Sleep(time.Second) // its first round
		if h, err := clone.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server2" {
			t.Fatalf("the other host's claim: %q, %v", h, err)
		}
		lease := clone.Status().Lease

		logs := &logBuffer{}
		c, err := arbiter.New(m.Conn("server2"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		w := newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Arbiter = c })
		w.beatFor(time.Second)
		time.Sleep(time.Minute) // the primary silent, past VetoRetry
		if s := w.d.State(); s == failover.Active || len(w.mover.Holding()) != 0 {
			t.Fatalf("state %s, holding %v, while another host of this name holds the key; notices %v", s, w.mover.Holding(), w.notices.kinds())
		}
		twin := arbiter.TwinHolder("server2")
		if y := w.d.Status().Yielding; y == nil || !y.Arbiter || y.To != twin {
			t.Fatalf("yielding %+v, want to %q", y, twin)
		}
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/198.51.100.1"); !ok || kv.Value != "server2" || kv.Lease != lease {
			t.Fatalf("the key is %+v (%v), want the other host's, under its lease %x", kv, ok, lease)
		}
		// Tried once at most (before its view named the other host),
		// refused; then it yields, and tries no more.
		if got := w.notices.kinds(); len(got) > 1 || slices.ContainsFunc(got, func(k notice.Kind) bool { return k != notice.TakeoverFailed }) {
			t.Errorf("notices %v, want one takeover-failed at most", got)
		}
		if n := len(logs.lines("another host uses this host's name")); n != 1 {
			t.Errorf("told %d times that another host uses this name, want once", n)
		}
	})
}

// The standby that ranks first, cut from the arbiter's majority, can take
// nothing: it says it is not eligible, and the next one takes a dead
// primary's addresses (simulation seed 2151 of 4000: the others left
// them to it for as long as its cut lasted).
func TestAStandbyCutFromTheArbiterLeavesTheAddressesToTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		primary, _ := arbiterClient(t, m, "server1", "primary")
		synctest.Wait()
		time.Sleep(time.Second) // its first round
		if h, err := primary.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the primary's claim: %q, %v", h, err)
		}
		b := newBus()
		mk := func(name string, prio int) *world {
			c, err := arbiter.New(m.Conn(name), arbiter.Config{Node: name, Role: "standby", TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			return newWorldDeps(t, false, nil, nil, func(d *Deps) { d.Standbys, d.Arbiter = member{b, name}, c }, func(c *Config) {
				c.Node, c.Priority = name, prio
			})
		}
		high, low := mk("server2", 200), mk("server3", 100)
		beatAll(time.Second, high, low)
		m.Cut("server2", arbiter.DropRequests)
		time.Sleep(arbTTL) // its lease is past its deadline
		// The primary's power goes off: no heartbeat, no renewal.
		m.Cut("server1", arbiter.DropRequests)
		low.waitState(failover.Active, 3*arbTTL)
		if high.holds() || len(high.hooks.stages()) != 0 {
			t.Fatalf("server2, cut from the majority, took the addresses: hooks %v", high.hooks.stages())
		}
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/198.51.100.1"); !ok || kv.Value != "server3" {
			t.Fatalf("server3 holds the addresses, and the key is %+v (%v)", kv, ok)
		}
	})
}

// failoverd killed while it held the addresses, and started again at
// once: the kernel kept them (cfg.Held), and their key is under the
// earlier run's lease, which nobody renews. Cut from the arbiter's
// majority a moment after its first rounds, before that lease expires
// (simulation seed 5381, with heartbeatd: it held the address with no
// key until its own deadline, while another host claimed the key and
// added the address), it never holds them without their key: adopted at
// its first round, the key lives under its lease, and the addresses go
// by its own deadline.
func TestARestartedHolderCutFromTheMajorityNeverHoldsTheAddressesWithoutTheirKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		const key = arbiter.DefaultPrefix + "/addr/198.51.100.1"
		earlier, _ := arbiterClient(t, m, "server2", "standby 100")
		synctest.Wait()
		time.Sleep(time.Second) // its first round
		if h, err := earlier.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server2" {
			t.Fatalf("the earlier run's claim: %q, %v", h, err)
		}
		old := earlier.Status().Lease
		m.Cut("server2", arbiter.DropRequests) // killed: nothing more reaches etcd
		exp, ok := m.LeaseExpiry(old)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}

		c, err := arbiter.New(m.Conn("server2-again"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		w := newWorldDeps(t, true, nil, nil, func(d *Deps) { d.Arbiter = c })
		time.Sleep(arbTTL / 2) // a few rounds
		if kv, ok := m.Get(key); !ok || kv.Value != "server2" || kv.Lease != c.Status().Lease {
			t.Errorf("after the new run's first rounds the key is %+v (%v), want it under its lease %x", kv, ok, c.Status().Lease)
		}
		m.Cut("server2-again", arbiter.DropRequests)
		synctest.Wait() // a renewal sent at the cut's instant is answered or lost before the deadline is read
		dl := c.Deadline()
		if !dl.After(exp) {
			t.Fatalf("the new run's deadline %v is not past the earlier lease's expiry %v: the test shows nothing", dl, exp)
		}
		for w.holds() {
			if kv, ok := m.Get(key); !ok || kv.Value != "server2" {
				t.Fatalf("%v after the earlier lease's expiry server2 holds the addresses, and their key is %+v (%v): another host may claim it",
					time.Since(exp), kv, ok)
			}
			if time.Now().After(dl) {
				t.Fatal("still holding the addresses past the lease's deadline")
			}
			time.Sleep(time.Millisecond)
		}
		kv, ok := m.Get(key)
		if !ok || kv.Value != "server2" {
			t.Fatalf("the addresses removed, the key is %+v (%v): it went before them", kv, ok)
		}
		if at, live := m.LeaseExpiry(kv.Lease); !live || !at.After(time.Now()) {
			t.Errorf("the addresses removed at %v, the key's lease expires at %v (live %v): not after", time.Now(), at, live)
		}
		synctest.Wait() // the notice follows the removal
		if _, ok := w.notices.last(notice.ArbiterLost); !ok {
			t.Errorf("no arbiter-lost notice: %v", w.notices.kinds())
		}
	})
}

// A run killed in the middle of a takeover left one of two addresses on
// this host, its key under that run's lease. Started again, failoverd
// completes the takeover with both keys under its own lease, before the
// earlier lease expires: the held address's key adopted (at the first
// round, or by the takeover's claims, whichever comes first), not
// refused as another host's until that lease expired.
func TestAnUnfinishedTakeoverAdoptsTheKeyOfTheAddressHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		earlier, _ := arbiterClient(t, m, "server2", "standby 100")
		synctest.Wait()
		time.Sleep(time.Second) // its first round
		if h, err := earlier.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server2" {
			t.Fatalf("the earlier run's claim: %q, %v", h, err)
		}
		m.Cut("server2", arbiter.DropRequests) // killed
		exp, ok := m.LeaseExpiry(earlier.Status().Lease)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}
		c, err := arbiter.New(m.Conn("server2-again"), arbiter.Config{Node: "server2", Role: "standby 100", TTL: arbTTL,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		second := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.2/32")}
		w := newWorldDeps(t, true, nil, nil, func(d *Deps) { d.Arbiter = c }, func(c *Config) { c.Addresses = append(c.Addresses, second) })
		for {
			held, err := w.manager.Held(context.Background(), []takeover.Address{w.addr, second})
			if err != nil {
				t.Fatal(err)
			}
			if len(held) == 2 {
				break
			}
			if !time.Now().Before(exp) {
				t.Fatalf("holds %v when the earlier run's lease expires (state %s, notices %v)", held, w.d.State(), w.notices.kinds())
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, a := range []string{"198.51.100.1", "198.51.100.2"} {
			if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/" + a); !ok || kv.Value != "server2" || kv.Lease != c.Status().Lease {
				t.Errorf("the key of %s is %+v (%v), want it under the new run's lease %x", a, kv, ok, c.Status().Lease)
			}
		}
	})
}
