package arbiter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestOfTwoClientsWithOneNameOnlyTheFirstClaims and
// TestALeaseReplacedWhileTheServerHoldsItTakesItsKeyBack over a real
// etcd (etcd_linux_test.go says how it runs).

// getKey reads key through a connection of its own.
func getKey(t *testing.T, e *Etcd) (KV, bool) {
	t.Helper()
	kvs, err := e.List(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) == 0 {
		return KV{}, false
	}
	return kvs[0], true
}

func TestEtcdOfTwoClientsWithOneNameOnlyTheFirstClaims(t *testing.T) {
	c := startEtcd(t)
	raw := dialEtcd(t, c.Endpoints)
	var logA, logB syncBuf
	a := runLogged(t, dialEtcd(t, c.Endpoints), Config{Node: "web", TTL: etcdTTL}, &logA)
	eventually(t, "a reachable", 5*time.Second, a.Reachable)
	claim(t, a, "web")
	held := a.Status().Lease

	b := runLogged(t, dialEtcd(t, c.Endpoints), Config{Node: "web", TTL: etcdTTL}, &logB)
	eventually(t, "b reachable", 5*time.Second, b.Reachable)
	twin := TwinHolder("web")
	// From its first claim on, and past the time an earlier run's lease
	// could have lived (a TTL and EarlierRunSlack after b's grant).
	start := time.Now()
	for time.Since(start) < etcdTTL+EarlierRunSlack+etcdTTL/2 {
		claim(t, b, twin)
		if err := b.Release(context.Background(), addr); !errors.Is(err, ErrTwin) {
			t.Errorf("the twin's Release: %v, want ErrTwin", err)
		}
		if kv, ok := getKey(t, raw); !ok || kv.Value != "web" || kv.Lease != held {
			t.Fatalf("after the twin's claim and release the key is %+v (ok %v), want web under the first's lease %x", kv, ok, held)
		}
		time.Sleep(etcdTTL / 4)
	}
	claim(t, a, "web")
	eventually(t, "the twin's view names another host", etcdTTL, func() bool { return b.Status().Holders[addr] == twin })
	if h := a.Status().Holders[addr]; h != "web" {
		t.Errorf("the first's Status.Holders[%s] = %q, want web", addr, h)
	}
	for name, log := range map[string]*syncBuf{"the first": &logA, "the twin": &logB} {
		if n := strings.Count(log.String(), twinTold); n != 1 {
			t.Errorf("%s told %d times, want once:\n%s", name, n, log.String())
		}
	}
	if err := a.Release(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	claim(t, b, "web")
	claim(t, a, twin)
}

// Every member killed: every lease waits. Past its deadline a lets its
// lease go, its revoke refused; once the members are back, on their data,
// the new leader gives every lease a full TTL again, a's old one too,
// with a's key: a takes it back under its new lease; the twin is refused
// it throughout. (A longer TTL: the old lease must outlive the members'
// election and the etcd client's reconnecting.)
func TestEtcdALeaseReplacedWhileTheServerHoldsItTakesItsKeyBack(t *testing.T) {
	const ttl = 6 * time.Second
	c := startEtcd(t)
	raw := dialEtcd(t, c.Endpoints)
	a := run(t, dialEtcd(t, c.Endpoints), Config{Node: "web", TTL: ttl})
	b := run(t, dialEtcd(t, c.Endpoints), Config{Node: "web", TTL: ttl})
	eventually(t, "a reachable", 5*time.Second, a.Reachable)
	eventually(t, "b reachable", 5*time.Second, b.Reachable)
	claim(t, a, "web")
	old := a.Status().Lease

	for _, m := range c.Members {
		m.Kill()
	}
	eventually(t, "a lets its lease go", 2*ttl, func() bool { return a.Status().LeasesLost == 1 })
	// Its revoke refused: the round went on to ask for a new lease.
	eventually(t, "a's revoke refused", 2*ttl, func() bool { return strings.Contains(a.Status().Err, "grant a lease") })
	for _, m := range c.Members {
		m.Restart(t)
	}
	back := time.Now()
	eventually(t, "a reachable with a new lease", 2*ttl, func() bool { return a.Reachable() && a.Status().Lease != 0 })
	t.Logf("a reachable with a new lease %v after the members restarted", time.Since(back))
	kv, ok := getKey(t, raw)
	if !ok || kv.Lease != old {
		t.Fatalf("etcd back, the key is %+v (ok %v), want it under a's old lease %x still", kv, ok, old)
	}
	if h := a.Status().Holders[addr]; h != "web" {
		t.Errorf("a's view names %q the holder of its key under its old lease, want web", h)
	}
	eventually(t, "b reachable", 2*ttl, b.Reachable)
	claim(t, b, TwinHolder("web"))
	claim(t, a, "web")
	now := a.Status().Lease
	if kv, ok := getKey(t, raw); !ok || kv.Lease != now || now == old {
		t.Fatalf("a claimed again: the key is %+v (ok %v), want it under a's new lease %x", kv, ok, now)
	}
	claim(t, b, TwinHolder("web"))
	if err := b.Release(context.Background(), addr); !errors.Is(err, ErrTwin) {
		t.Errorf("the twin's Release: %v, want ErrTwin", err)
	}
	if kv, ok := getKey(t, raw); !ok || kv.Lease != now {
		t.Fatalf("the twin's Release changed the key: %+v (ok %v)", kv, ok)
	}
}

// A run killed while it held the address (its lease granted, the key
// claimed under it, nothing renewed since), started again: the new run
// adopts the key at once, under its own lease, in etcd's transaction.
func TestEtcdARunStartedAgainAdoptsItsEarlierRunsKey(t *testing.T) {
	c := startEtcd(t)
	raw := dialEtcd(t, c.Endpoints)
	old, _, err := raw.Grant(context.Background(), etcdTTL)
	if err != nil {
		t.Fatal(err)
	}
	if kv, err := raw.Claim(context.Background(), key, "web", old, 0); err != nil || kv.Lease != old {
		t.Fatalf("the earlier run's claim: %+v, %v", kv, err)
	}
	killed := time.Now() // no renewal from now on: it lives a TTL more

	var log syncBuf
	again := runLogged(t, dialEtcd(t, c.Endpoints), Config{Node: "web", TTL: etcdTTL}, &log)
	eventually(t, "the new run reachable", 5*time.Second, again.Reachable)
	claim(t, again, TwinHolder("web")) // a claim waits for the earlier lease
	h, err := again.Adopt(context.Background(), addr)
	if err != nil || h != "web" {
		t.Fatalf("the new run adopts its earlier run's key: holder %q, err %v; want web", h, err)
	}
	if time.Since(killed) >= etcdTTL {
		t.Fatalf("adopted %v after the earlier run's last renewal: the test shows nothing", time.Since(killed))
	}
	if kv, ok := getKey(t, raw); !ok || kv.Value != "web" || kv.Lease != again.Status().Lease {
		t.Fatalf("adopted, the key is %+v (ok %v), want web under the new run's lease %x", kv, ok, again.Status().Lease)
	}
	if strings.Contains(log.String(), twinTold) {
		t.Errorf("a twin told of the run's own earlier lease:\n%s", log.String())
	}
}
