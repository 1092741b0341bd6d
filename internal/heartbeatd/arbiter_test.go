package heartbeatd

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// These tests run heartbeatd with a real arbiter client over the
// in-memory etcd, under testing/synctest, as the primary "server1"; the
// service addresses are moved by takeover's Fake.

const arbTTL = 3 * time.Second

var (
	svcAddr = takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.100/32")}
	svcKey  = arbiter.DefaultPrefix + "/addr/198.51.100.100"
)

// removal is what the server held at the moment an address was removed.
type removal struct {
	addr      takeover.Address
	at        time.Time
	key       arbiter.KV // its key then
	keyHeld   bool
	expiry    time.Time // the holder's lease's expiry on the server then
	leaseLive bool
}

// watchedManager is the Fake, recording what the in-memory etcd held
// each time an address is removed.
type watchedManager struct {
	*takeover.Fake
	m *arbiter.Memory

	mu       sync.Mutex
	removals []removal
}

func (w *watchedManager) Release(ctx context.Context, a takeover.Address) error {
	r := removal{addr: a, at: time.Now()}
	r.key, r.keyHeld = w.m.Get(arbiter.DefaultPrefix + "/addr/" + a.Addr().String())
	if r.keyHeld {
		r.expiry, r.leaseLive = w.m.LeaseExpiry(r.key.Lease)
	}
	w.mu.Lock()
	w.removals = append(w.removals, r)
	w.mu.Unlock()
	return w.Fake.Release(ctx, a)
}

func (w *watchedManager) removed() []removal {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.removals)
}

// arbWorld is heartbeatd with a real arbiter client over m.
type arbWorld struct {
	*steps
	t      *testing.T
	d      *Daemon
	m      *arbiter.Memory
	client *arbiter.Client
	mgr    *watchedManager
	svc    *heartbeat.Service // nil: host-address mode
	logs   *lab.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{}
}

// linkTargets are heartbeatd's two links: the private one and the
// public one, whose address is the one a standby takes over.
func linkTargets() []heartbeat.Target {
	link := func(name, bcast, addr string) heartbeat.Target {
		p := netip.MustParsePrefix(addr)
		return heartbeat.Target{Addr: netip.MustParseAddr(bcast), Route: netif.Route{Kind: netif.Broadcast,
			Interface: netif.Interface{Name: name, Up: true, Running: true,
				Addrs: []netif.Addr{netif.NewAddr(p), netif.NewAddr(netip.MustParsePrefix("fe80::1/64"))}},
			Addr: netif.NewAddr(p)}}
	}
	return []heartbeat.Target{link("priv0", "192.0.2.255", "192.0.2.1/24"), link("pub0", "198.51.100.255", "198.51.100.1/24")}
}

// arbOpts say what newArbWorld starts.
type arbOpts struct {
	service bool // heartbeatd holds svcAddr
	keep    bool // FAILOVER_ARBITER_LOST=keep
	left    bool // the host holds svcAddr already, left by a killed run
	// slowGrant delays the answer to the first lease's grant, as a real
	// etcd takes a moment.
	slowGrant time.Duration
	// wrap, when set, wraps the client as heartbeatd sees it.
	wrap func(Arbiter) Arbiter
	// backend, when set, wraps the in-memory etcd's connection.
	backend func(arbiter.Backend) arbiter.Backend
}

// slowGrant is the in-memory etcd whose grants answer late.
type slowGrant struct {
	arbiter.Backend
	delay time.Duration
}

func (s slowGrant) Grant(ctx context.Context, ttl time.Duration) (arbiter.LeaseID, time.Duration, error) {
	time.Sleep(s.delay)
	return s.Backend.Grant(ctx, ttl)
}

// newArbWorld starts heartbeatd as o says.
func newArbWorld(t *testing.T, m *arbiter.Memory, o arbOpts) *arbWorld {
	t.Helper()
	st := &steps{}
	w := &arbWorld{steps: st, t: t, m: m, logs: &lab.SyncBuffer{}}
	lost := "release"
	if o.keep {
		lost = "keep"
	}
	c := &config.Config{BcastIPs: []netip.Addr{netip.MustParseAddr("192.0.2.255"), netip.MustParseAddr("198.51.100.255")},
		Interval: time.Second, Port: 1694, NodeName: "server1", ArbiterTTL: arbTTL, ArbiterLost: lost}
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var conn arbiter.Backend = m.Conn("server1")
	if o.slowGrant > 0 {
		conn = slowGrant{conn, o.slowGrant}
	}
	if o.backend != nil {
		conn = o.backend(conn)
	}
	cl, err := arbiter.New(conn, arbiter.Config{Node: "server1", Role: "primary", TTL: arbTTL, KeepPastDeadline: o.keep, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w.client = cl
	var arb Arbiter = cl
	if o.wrap != nil {
		arb = o.wrap(cl)
	}
	deps := Deps{Sender: &fakeSender{steps: st, targets: linkTargets()}, Announcer: &fakeAnnouncer{steps: st}, Log: log, Arbiter: arb,
		Listen: func(ctx context.Context, _ netip.Addr, _ func() *wire.Keyring, _ heartbeat.FromSecondary) <-chan struct{} {
			done := make(chan struct{})
			go func() { <-ctx.Done(); close(done) }()
			return done
		},
		Interfaces: func() ([]netif.Interface, error) { return nil, nil },
	}
	if o.service {
		w.mgr = &watchedManager{Fake: takeover.NewFake(), m: m}
		if o.left {
			if err := w.mgr.Acquire(context.Background(), svcAddr); err != nil {
				t.Fatal(err)
			}
		}
		w.svc = NewService(c, []takeover.Address{svcAddr}, &takeover.Mover{Manager: w.mgr}, quietAsker{}, nil, log)
		deps.Service = w.svc
	}
	w.d = New(c, deps)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	var wg sync.WaitGroup
	for _, task := range w.d.Tasks() {
		wg.Go(func() { _ = task.Run(ctx) })
	}
	go func() { _ = w.d.Run(ctx); wg.Wait(); close(w.done) }()
	t.Cleanup(w.stop)
	return w
}

// stop stops heartbeatd as SIGTERM does, and waits until it has.
func (w *arbWorld) stop() {
	w.cancel()
	<-w.done
}

func (w *arbWorld) held() bool { return len(w.svc.Held()) > 0 }

// waitFor polls cond every 10 ms of bubble time until it holds, or fails
// once within has passed.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// standby is a failoverd's arbiter client, named node.
func standby(t *testing.T, m *arbiter.Memory, node string) *arbiter.Client {
	t.Helper()
	c, err := arbiter.New(m.Conn(node), arbiter.Config{Node: node, Role: "standby 100", TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, node+" reachable", arbTTL, c.Reachable)
	return c
}

// A service address is added only once heartbeatd holds its key: while a
// standby holds it, nothing is added, although nobody answers for the
// address; once the standby frees it, heartbeatd claims it and adds the
// address.
func TestNoServiceAddressIsAddedWithoutItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		s2 := standby(t, m, "server2")
		if h, err := s2.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server2" {
			t.Fatalf("the standby's claim: %q, %v", h, err)
		}
		w := newArbWorld(t, m, arbOpts{service: true})
		time.Sleep(5 * serviceRetry)
		if w.held() {
			t.Fatalf("heartbeatd added %v while the arbiter names server2 as the holder of its key", svcAddr)
		}
		if !strings.Contains(w.logs.String(), "the arbiter names another host as the holder of a service address's key") {
			t.Errorf("heartbeatd did not say why it waits:\n%s", w.logs)
		}
		if err := s2.Release(context.Background(), svcAddr.Addr().String()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "heartbeatd holds the address once its key is free", 2*serviceRetry, w.held)
		if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" {
			t.Fatalf("heartbeatd holds %v, its key is %+v (%v), want server1's", svcAddr, kv, ok)
		}
	})
}

// heldWithKey starts heartbeatd holding the service address and its key.
func heldWithKey(t *testing.T, m *arbiter.Memory, keep bool) *arbWorld {
	t.Helper()
	w := newArbWorld(t, m, arbOpts{service: true, keep: keep})
	waitFor(t, "heartbeatd holds the service address", 2*serviceRetry, w.held)
	if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" {
		t.Fatalf("the key is %+v (%v), want server1's", kv, ok)
	}
	return w
}

// Cut from the arbiter's majority, heartbeatd removes its service
// address before the server can expire its lease (and so before any
// standby can claim the key), and claims it again once the majority is
// back.
func TestAHolderCutFromTheMajorityRemovesItsServiceAddressesBeforeTheLeaseExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := heldWithKey(t, m, true) // keep: a cut is not every member refusing
		cut := time.Now()
		m.Cut("server1", arbiter.DropRequests)
		waitFor(t, "the address removed after the cut", 2*arbTTL, func() bool { return !w.held() })
		rs := w.mgr.removed()
		if len(rs) != 1 {
			t.Fatalf("removals %+v, want one", rs)
		}
		r := rs[0]
		if !r.keyHeld || r.key.Value != "server1" || !r.leaseLive || !r.at.Before(r.expiry) {
			t.Fatalf("%v after the cut, as the address went, the server held its key %+v (%v) under a lease expiring at %v (live %v): it must still be server1's",
				r.at.Sub(cut), r.key, r.keyHeld, r.expiry.Sub(cut), r.leaseLive)
		}
		t.Logf("removed %v after the cut, %v before the server would expire the lease", r.at.Sub(cut), r.expiry.Sub(r.at))
		m.Heal("server1")
		waitFor(t, "the address added again with the majority back", 3*serviceRetry+arbTTL, w.held)
		if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" {
			t.Fatalf("held again, the key is %+v (%v), want server1's", kv, ok)
		}
	})
}

// With FAILOVER_ARBITER_LOST=keep and every member refusing the
// connection (etcd down for everyone), heartbeatd keeps its service
// address; with etcd back, its key is still its own.
func TestKeepWithEveryMemberRefusingKeepsTheServiceAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := heldWithKey(t, m, true)
		m.Down()
		time.Sleep(4 * arbTTL)
		if !w.held() {
			t.Fatal("with every member refusing, keep removed the service address")
		}
		if st := w.client.Status(); st.Refusing != st.Members || st.Reachable {
			t.Fatalf("status %+v, want every member refusing", st)
		}
		if !strings.Contains(w.logs.String(), "every arbiter member refuses the connection: keeping the service addresses") {
			t.Errorf("heartbeatd did not say it keeps them:\n%s", w.logs)
		}
		if rs := w.mgr.removed(); len(rs) != 0 {
			t.Fatalf("removals %+v, want none", rs)
		}
		up := time.Now()
		m.Up()
		waitFor(t, "the majority reachable again", 2*arbTTL, w.client.Reachable)
		for _, r := range w.mgr.removed() {
			t.Logf("removed %v after etcd came back", r.at.Sub(up))
		}
		waitFor(t, "held again", 2*serviceRetry, w.held)
		if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" {
			t.Fatalf("etcd back: the key is %+v (%v), want server1's", kv, ok)
		}
	})
}

// On a clean stop the service address goes before its key is freed, and
// the key is freed (the lease revoked) once heartbeatd has stopped: a
// standby claims it at once, never while the address answers here.
func TestACleanStopRemovesTheServiceAddressesBeforeTheKeyIsFreed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := heldWithKey(t, m, false)
		lease := w.client.Status().Lease
		w.stop()
		rs := w.mgr.removed()
		if len(rs) != 1 || !rs[0].keyHeld || rs[0].key.Value != "server1" {
			t.Fatalf("removals %+v: want the address removed while the key was still server1's", rs)
		}
		if kv, ok := m.Get(svcKey); ok {
			t.Fatalf("heartbeatd stopped, the key is still %+v", kv)
		}
		if _, ok := m.LeaseExpiry(lease); ok {
			t.Fatal("heartbeatd stopped, its lease lives on")
		}
		if got := w.list(); !slices.Equal(got, []string{"goodbye"}) {
			t.Fatalf("steps %v", got)
		}
	})
}

// Without service addresses heartbeatd holds the keys of its links'
// addresses: a standby's claim of the primary's public address is
// refused while heartbeatd lives; heartbeatd claims them again under a
// new lease once its old one expired during a cut; and they are free
// once it stopped.
func TestHostAddressModeHoldsTheKeysOfTheLinkAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := newArbWorld(t, m, arbOpts{})
		keys := []string{arbiter.DefaultPrefix + "/addr/192.0.2.1", arbiter.DefaultPrefix + "/addr/198.51.100.1"}
		heldAll := func() bool {
			lease := w.client.Status().Lease
			for _, k := range keys {
				if kv, ok := m.Get(k); !ok || kv.Value != "server1" || kv.Lease != lease {
					return false
				}
			}
			return true
		}
		waitFor(t, "heartbeatd holds its links' keys", arbTTL, heldAll)
		if kv, ok := m.Get(arbiter.DefaultPrefix + "/addr/fe80::1"); ok {
			t.Errorf("a link-local address's key is held: %+v", kv)
		}
		s2 := standby(t, m, "server2")
		if h, err := s2.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the standby's claim of the primary's address: %q, %v; want refused, server1 holds it", h, err)
		}

		// Cut long enough for the server to expire the lease.
		first := w.client.Status().Lease
		m.Cut("server1", arbiter.DropRequests)
		time.Sleep(2 * arbTTL)
		if _, ok := m.LeaseExpiry(first); ok {
			t.Fatal("the lease outlived the cut")
		}
		m.Heal("server1")
		waitFor(t, "the keys claimed again under a new lease", 2*arbTTL, heldAll)
		if w.client.Status().Lease == first {
			t.Fatal("the same lease")
		}

		w.stop()
		for _, k := range keys {
			if kv, ok := m.Get(k); ok {
				t.Errorf("heartbeatd stopped, %s is still %+v", k, kv)
			}
		}
	})
}

// A service address left on the host by a killed run stays while its key
// is free, and heartbeatd claims the key; one whose key another host
// holds is removed.
func TestAServiceAddressLeftByAKilledRunNeedsItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		w := newArbWorld(t, m, arbOpts{service: true, left: true, slowGrant: 20 * time.Millisecond})
		waitFor(t, "heartbeatd holds the key of the address it found", arbTTL, func() bool {
			kv, ok := m.Get(svcKey)
			return ok && kv.Value == "server1"
		})
		if !w.held() || len(w.mgr.removed()) != 0 {
			t.Fatalf("held %v, removals %+v: the address left by a killed run, its key free, must stay", w.held(), w.mgr.removed())
		}
		w.stop()

		s2 := standby(t, m, "server2")
		if h, err := s2.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server2" {
			t.Fatalf("the standby's claim: %q, %v", h, err)
		}
		w = newArbWorld(t, m, arbOpts{service: true, left: true, slowGrant: 20 * time.Millisecond})
		waitFor(t, "the address removed, its key server2's", arbTTL, func() bool { return !w.held() })
		time.Sleep(2 * serviceRetry)
		if w.held() {
			t.Fatal("added again while server2 holds the key")
		}
	})
}

// client runs an arbiter client named node over conn, until the test
// ends; it returns once its first round reached the majority.
func client(t *testing.T, m *arbiter.Memory, conn, node string) *arbiter.Client {
	t.Helper()
	c, err := arbiter.New(m.Conn(conn), arbiter.Config{Node: node, Role: "primary", TTL: arbTTL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, conn+" reachable", arbTTL, c.Reachable)
	return c
}

// Another host goes by this host's name (a cloned primary, a copied
// configuration file) and holds the service address's key: heartbeatd
// adds nothing, says once that another host uses its name, and names
// the holder as that other host; the key stays the other's.
func TestAServiceAddressWhoseKeyAnotherHostOfThisNameHoldsIsNotAdded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		clone := client(t, m, "server1-clone", "server1")
		if h, err := clone.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server1" {
			t.Fatalf("the other host's claim: %q, %v", h, err)
		}
		lease := clone.Status().Lease
		w := newArbWorld(t, m, arbOpts{service: true})
		time.Sleep(2*arbTTL + 5*serviceRetry)
		if w.held() {
			t.Fatalf("heartbeatd added %v while another host of its name holds its key", svcAddr)
		}
		if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" || kv.Lease != lease {
			t.Fatalf("the key is %+v (%v), want the other host's, under its lease %x", kv, ok, lease)
		}
		if n := strings.Count(w.logs.String(), "another host uses this host's name"); n != 1 {
			t.Errorf("told %d times that another host uses this name, want once:\n%s", n, w.logs)
		}
		if h := w.client.Status().Holders[svcAddr.Addr().String()]; h != arbiter.TwinHolder("server1") {
			t.Errorf("heartbeatd's arbiter names %q the holder, want %q", h, arbiter.TwinHolder("server1"))
		}
	})
}

// A run killed and started again at once (systemd restarts it a second
// later): the service address the earlier run left stays, and heartbeatd
// takes its key, under the earlier run's lease, under its own at its
// first round through the majority, long before that lease expires.
// Nothing is told of a twin.
func TestAServiceAddressLeftByAKilledRunStaysAndItsKeyIsAdopted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		earlier := client(t, m, "server1-earlier", "server1")
		if h, err := earlier.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server1" {
			t.Fatalf("the earlier run's claim: %q, %v", h, err)
		}
		m.Cut("server1-earlier", arbiter.DropRequests) // killed
		exp, ok := m.LeaseExpiry(earlier.Status().Lease)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}
		w := newArbWorld(t, m, arbOpts{service: true, left: true})
		waitFor(t, "the key claimed under the new run's lease", arbTTL/2, func() bool {
			kv, ok := m.Get(svcKey)
			return ok && kv.Value == "server1" && kv.Lease == w.client.Status().Lease
		})
		if !time.Now().Before(exp) {
			t.Errorf("the key taken under the new run's lease only once the earlier one expired")
		}
		if !w.held() || len(w.mgr.removed()) != 0 {
			t.Fatalf("held %v, removals %+v: the address the killed run left must stay", w.held(), w.mgr.removed())
		}
		if strings.Contains(w.logs.String(), "another host uses this host's name") {
			t.Errorf("a twin told of the earlier run:\n%s", w.logs)
		}
	})
}

// A run killed and started again holds the service address the earlier
// run left, and is cut from the arbiter's majority a moment after its
// first rounds, before the earlier run's lease expires (simulation seed
// 5381: it held the address with no key, until its own deadline, while a
// standby claimed the key and added the address). Its key, adopted, lives
// under its lease: the address goes by its own deadline, and the key
// never expires while the address is here.
func TestARestartedRunCutFromTheMajorityNeverHoldsTheAddressWithoutItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		earlier := client(t, m, "server1-earlier", "server1")
		if h, err := earlier.Claim(context.Background(), svcAddr.Addr().String()); err != nil || h != "server1" {
			t.Fatalf("the earlier run's claim: %q, %v", h, err)
		}
		m.Cut("server1-earlier", arbiter.DropRequests) // killed
		exp, ok := m.LeaseExpiry(earlier.Status().Lease)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}
		w := newArbWorld(t, m, arbOpts{service: true, left: true})
		time.Sleep(arbTTL / 2) // a few rounds
		m.Cut("server1", arbiter.DropRequests)
		synctest.Wait() // a renewal sent at the cut's instant is answered or lost before the deadline is read
		dl := w.client.Deadline()
		if !dl.After(exp) {
			t.Fatalf("the new run's deadline %v is not past the earlier lease's expiry %v: the test shows nothing", dl, exp)
		}
		for w.held() {
			if kv, ok := m.Get(svcKey); !ok || kv.Value != "server1" {
				t.Fatalf("%v after the earlier lease's expiry heartbeatd holds %v, and its key is %+v (%v): another host may claim it",
					time.Since(exp), svcAddr, kv, ok)
			}
			if time.Now().After(dl) {
				t.Fatalf("still holding %v past the lease's deadline", svcAddr)
			}
			time.Sleep(time.Millisecond)
		}
		rs := w.mgr.removed()
		if len(rs) != 1 {
			t.Fatalf("removals %+v, want one", rs)
		}
		r := rs[0]
		if r.at.After(dl) {
			t.Errorf("removed %v past the deadline", r.at.Sub(dl))
		}
		if !r.keyHeld || r.key.Value != "server1" || !r.leaseLive || !r.expiry.After(r.at) {
			t.Errorf("at the removal the key was %+v (held %v) under a lease expiring at %v (live %v): want server1's, live past the removal at %v",
				r.key, r.keyHeld, r.expiry, r.leaseLive, r.at)
		}
	})
}

// Without service addresses, a run killed and started again takes the
// keys of its links' addresses from the earlier run's lease at its first
// round, long before that lease expires.
func TestHostAddressModeAdoptsTheKeysOfAnEarlierRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := arbiter.NewMemory(arbiter.MemoryConfig{})
		earlier := client(t, m, "server1-earlier", "server1")
		const pub = arbiter.DefaultPrefix + "/addr/198.51.100.1"
		if h, err := earlier.Claim(context.Background(), "198.51.100.1"); err != nil || h != "server1" {
			t.Fatalf("the earlier run's claim: %q, %v", h, err)
		}
		m.Cut("server1-earlier", arbiter.DropRequests) // killed
		exp, ok := m.LeaseExpiry(earlier.Status().Lease)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}
		w := newArbWorld(t, m, arbOpts{})
		waitFor(t, "the key of the public address under the new run's lease", arbTTL/2, func() bool {
			kv, ok := m.Get(pub)
			return ok && kv.Value == "server1" && kv.Lease == w.client.Status().Lease
		})
		if !time.Now().Before(exp) {
			t.Errorf("the key taken under the new run's lease only once the earlier one expired")
		}
		if strings.Contains(w.logs.String(), "another host uses this host's name") {
			t.Errorf("a twin told of the earlier run:\n%s", w.logs)
		}
	})
}
