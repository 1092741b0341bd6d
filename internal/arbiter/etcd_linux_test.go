package arbiter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter/etcdtest"
)

// These tests run the Client over the Etcd backend against a real etcd
// cluster of three members on 127.0.0.1 (ports chosen free at run time,
// data in the test's temporary directory, every process killed at the
// end). They skip when etcd is not installed.

const etcdTTL = 2 * time.Second

// startEtcd starts a cluster of three (etcdtest.Start) and waits until
// a read through the Etcd backend is served.
func startEtcd(t *testing.T) *etcdtest.Cluster { return startEtcdTLS(t, nil) }

// startEtcdTLS is startEtcd with the client URLs over TLS when pki is
// set: the members present pki's server certificate and ask every client
// for one signed by pki's CA.
func startEtcdTLS(t *testing.T, pki *testPKI) *etcdtest.Cluster {
	t.Helper()
	o := etcdtest.Options{}
	cfg := EtcdConfig{}
	if pki != nil {
		o.TLS = &etcdtest.TLS{CA: pki.ca, ServerCert: pki.serverCert, ServerKey: pki.serverKey}
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.ca, pki.clientCert, pki.clientKey
	}
	var e *Etcd
	o.Ready = func(ctx context.Context, endpoints []string) error {
		if e == nil {
			cfg.Endpoints = endpoints
			e = dial(t, cfg)
		}
		_, err := e.List(ctx, "/")
		return err
	}
	return etcdtest.Start(t, o)
}

func dialEtcd(t *testing.T, endpoints []string) *Etcd {
	t.Helper()
	return dial(t, EtcdConfig{Endpoints: endpoints})
}

func dial(t *testing.T, cfg EtcdConfig) *Etcd {
	t.Helper()
	cfg.DialTimeout = 2 * time.Second
	e, err := DialEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// runEtcd runs a Client of etcdTTL over its own connection.
func runEtcd(t *testing.T, c *etcdtest.Cluster, node string) *running {
	t.Helper()
	return run(t, dialEtcd(t, c.Endpoints), Config{Node: node, TTL: etcdTTL})
}

// eventually polls cond every 20 ms until it holds, or fails the test
// once within has passed.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestEtcdOnlyOneOfTwoClientsHoldsAnAddress(t *testing.T) {
	c := startEtcd(t)
	a, b := runEtcd(t, c, "a"), runEtcd(t, c, "b")
	for _, r := range []*running{a, b} {
		eventually(t, r.cfg.Node+" reachable", 5*time.Second, r.Reachable)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	holders := map[string]string{}
	for _, r := range []*running{a, b} {
		wg.Go(func() {
			h, err := r.Claim(context.Background(), addr)
			if err != nil {
				t.Errorf("%s: Claim: %v", r.cfg.Node, err)
			}
			mu.Lock()
			holders[r.cfg.Node] = h
			mu.Unlock()
		})
	}
	wg.Wait()
	if holders["a"] != holders["b"] || (holders["a"] != "a" && holders["a"] != "b") {
		t.Fatalf("a was told %q holds it, b was told %q: want one holder both agree on", holders["a"], holders["b"])
	}
	winner, loser := a, b
	if holders["a"] == "b" {
		winner, loser = b, a
	}
	t.Logf("%s holds %s", winner.cfg.Node, addr)

	// etcd itself says so, under the winner's lease.
	kvs, err := dialEtcd(t, c.Endpoints).List(context.Background(), key)
	if err != nil || len(kvs) != 1 || kvs[0].Value != winner.cfg.Node || kvs[0].Lease != winner.Status().Lease {
		t.Fatalf("etcd holds %+v (%v), want %s under lease %x", kvs, err, winner.cfg.Node, winner.Status().Lease)
	}
	claim(t, loser, winner.cfg.Node)
	if err := loser.Release(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	claim(t, winner, winner.cfg.Node)
	if err := winner.Release(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	claim(t, loser, loser.cfg.Node)
	eventually(t, "the winner reads the loser's claim", etcdTTL, func() bool {
		return winner.Status().Holders[addr] == loser.cfg.Node
	})
	for _, r := range []*running{a, b} {
		if alive, known := r.Alive("a"); !alive || !known {
			t.Errorf("%s: Alive(a) = %v, %v; want alive, known", r.cfg.Node, alive, known)
		}
	}
}

func TestEtcdAnExpiredLeaseFreesTheAddress(t *testing.T) {
	c := startEtcd(t)
	// a holds the address under a lease it never renews: a host that died.
	a := dialEtcd(t, c.Endpoints)
	sent := time.Now()
	id, granted, err := a.Grant(context.Background(), etcdTTL)
	if err != nil {
		t.Fatal(err)
	}
	if kv, err := a.Claim(context.Background(), key, "a", id, 0); err != nil || kv.Value != "a" || kv.Lease != id {
		t.Fatalf("a claims: %+v, %v", kv, err)
	}
	b := runEtcd(t, c, "b")
	eventually(t, "b reachable", 5*time.Second, b.Reachable)

	var refusals int
	took := eventually(t, "b holds the address", granted+3*time.Second, func() bool {
		h, err := b.Claim(context.Background(), addr)
		if err != nil {
			t.Fatalf("b claims: %v", err)
		}
		if h == "a" {
			refusals++
		}
		return h == "b"
	})
	freed := time.Since(sent)
	t.Logf("b took the address %v after a's lease was granted (TTL %v), %d refusals before", freed, granted, refusals)
	if freed < granted {
		t.Errorf("b took the address %v after a's lease was granted, before its TTL %v", freed, granted)
	}
	if refusals == 0 || took == 0 {
		t.Error("b was never refused while a's lease lived")
	}
}

func TestEtcdKeepsServingWithOneMemberDown(t *testing.T) {
	c := startEtcd(t)
	a := runEtcd(t, c, "a")
	eventually(t, "a reachable", 5*time.Second, a.Reachable)
	claim(t, a, "a")

	c.Members[0].Kill()
	killed := time.Now()
	// The lease is never in danger: the deadline stays ahead of now
	// (an election, if the leader went, takes far less than the margin).
	for time.Since(killed) < 2*etcdTTL {
		if d := a.Deadline(); !time.Now().Before(d) {
			t.Fatalf("%v after a member stopped, a's deadline %v has passed", time.Since(killed), d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, "a reachable", etcdTTL, a.Reachable)
	if h, err := a.Claim(context.Background(), "192.0.2.11"); err != nil || h != "a" {
		t.Errorf("with one member down a claims: %q, %v", h, err)
	}
	eventually(t, "two members of three answer", etcdTTL, func() bool {
		st := a.Status()
		return st.Answering == 2 && st.Members == 3
	})
	if got := a.Status().Holders[addr]; got != "a" {
		t.Errorf("with one member down %s is held by %q, want a", addr, got)
	}
}

func TestEtcdWithTheMajorityDownClaimsFailWithinTheBound(t *testing.T) {
	c := startEtcd(t)
	a := runEtcd(t, c, "a")
	eventually(t, "a reachable", 5*time.Second, a.Reachable)
	claim(t, a, "a")
	raw := dialEtcd(t, c.Endpoints)
	id, _, err := raw.Grant(context.Background(), etcdTTL)
	if err != nil {
		t.Fatal(err)
	}

	c.Members[1].Kill()
	c.Members[2].Kill()
	killed := time.Now()
	bound := etcdTTL / 6

	// A transaction gives up within its context, whichever member it tries.
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		start := time.Now()
		_, err := raw.Claim(ctx, DefaultPrefix+"/addr/192.0.2.12", "raw", id, 0)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Fatal("a claim went through with two members of three down")
		}
		if took > bound+200*time.Millisecond {
			t.Errorf("a claim without the majority took %v, beyond its bound %v: %v", took, bound, err)
		}
		t.Logf("a claim without the majority failed after %v (bound %v): %v", took, bound, err)
	}

	// Within two rounds the client knows, and refuses to claim at once.
	eventually(t, "a unreachable", 4*bound+time.Second, func() bool { return !a.Reachable() })
	t.Logf("a unreachable %v after the majority stopped", time.Since(killed))
	start := time.Now()
	_, err = a.Claim(context.Background(), "192.0.2.11")
	if err == nil || time.Since(start) > bound {
		t.Errorf("without the majority a claims: %v after %v; want an error within %v", err, time.Since(start), bound)
	}
	// The leader, alone, renews leases (no consensus needed) until it
	// sees the majority gone, within two election timeouts; then the
	// deadline stops and passes.
	const stepDown = 2 * 500 * time.Millisecond
	eventually(t, "a lets its lease go", etcdTTL+stepDown+time.Second, func() bool {
		return a.Status().LeasesLost == 1
	})
	letGo := a.Status().LeaseLostAt.Sub(killed)
	t.Logf("a let its lease go %v after the majority stopped", letGo)
	if letGo > etcdTTL+stepDown+etcdTTL/6 {
		t.Errorf("a let its lease go %v after the majority stopped, later than TTL + two election timeouts + a round", letGo)
	}
	if !a.Deadline().IsZero() {
		t.Errorf("without a lease a has a deadline %v", a.Deadline())
	}
	if _, err := a.Claim(context.Background(), addr); err == nil {
		t.Error("past its deadline a claims its own address again")
	}
	eventually(t, "no member answers with a leader", 2*etcdTTL, func() bool { return a.Status().Answering == 0 })
}

func TestEtcdOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	c := startEtcdTLS(t, pki)

	full := EtcdConfig{Endpoints: c.Endpoints, CAFile: pki.ca, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	a := run(t, dial(t, full), Config{Node: "a", TTL: etcdTTL})
	eventually(t, "a reachable over TLS", 5*time.Second, a.Reachable)
	claim(t, a, "a")

	// Without a client certificate the members refuse; without the CA
	// this host does not trust them.
	for name, cfg := range map[string]EtcdConfig{
		"no client certificate": {Endpoints: c.Endpoints, CAFile: pki.ca},
		"no CA":                 {Endpoints: c.Endpoints, CertFile: pki.clientCert, KeyFile: pki.clientKey},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := dial(t, cfg).List(ctx, "/")
		cancel()
		if err == nil {
			t.Errorf("%s: the read went through", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// With KeepPastDeadline (FAILOVER_ARBITER_LOST=keep), a holder keeps its
// lease while every member is down, however long, and through etcd's
// return: the members come back with the lease on their data, a new
// leader gives it its TTL again, and the client must renew it before its
// DownDeadline, a TTL less the margin after the last round in which every
// member refused; past that, it lets the lease go and its holder its
// addresses. The outage lasts long enough (20 s) for a reconnection
// backoff that grows with each refused attempt (gRPC's default: 1 s, ×1.6
// each time, up to 2 min: by then 8 to 20 s between attempts) to leave
// the client unconnected through that whole window.
func TestEtcdKeepRenewsTheLeaseThroughEtcdsReturn(t *testing.T) {
	const down = 20 * time.Second
	c := startEtcd(t)
	a := run(t, dialEtcd(t, c.Endpoints), Config{Node: "a", TTL: etcdTTL, KeepPastDeadline: true})
	eventually(t, "a reachable", 5*time.Second, a.Reachable)
	claim(t, a, "a")
	lease := a.Status().Lease

	for _, m := range c.Members {
		m.Kill()
	}
	killed := time.Now()
	eventually(t, "a finds every member refusing", 2*etcdTTL, func() bool {
		st := a.Status()
		return st.Members == 3 && st.Refusing == 3
	})
	for time.Since(killed) < down {
		if st := a.Status(); st.Lease != lease || st.LeasesLost != 0 {
			t.Fatalf("%v after every member stopped: lease %x (lost %d), want %x kept", time.Since(killed), st.Lease, st.LeasesLost, lease)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !a.Deadline().Before(time.Now()) {
		t.Fatalf("%v after every member stopped, a's deadline %v has not passed", down, a.Deadline())
	}

	for _, m := range c.Members {
		m.Restart(t)
	}
	back := time.Now()
	took := eventually(t, "a reachable again", 10*time.Second, func() bool {
		st := a.Status()
		return st.Reachable && st.Renewed.After(back) || st.LeasesLost != 0
	})
	st := a.Status()
	if st.LeasesLost != 0 || st.Lease != lease {
		t.Fatalf("members back %v ago: a let its lease %x go (%d lost at %v after the restart; now %x): it did not renew it before its DownDeadline",
			took.Round(time.Millisecond), lease, st.LeasesLost, st.LeaseLostAt.Sub(back).Round(time.Millisecond), st.Lease)
	}
	t.Logf("members back after %v down: a renewed its lease %v after their restart, %v before its DownDeadline",
		back.Sub(killed).Round(time.Millisecond), took.Round(time.Millisecond), a.DownDeadline().Sub(st.Renewed).Round(time.Millisecond))
	claim(t, a, "a")
	kvs, err := dialEtcd(t, c.Endpoints).List(context.Background(), key)
	if err != nil || len(kvs) != 1 || kvs[0].Value != "a" || kvs[0].Lease != lease {
		t.Fatalf("etcd holds %+v (%v), want a under lease %x", kvs, err, lease)
	}
}
