package arbiter

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Two hosts configured with one name (a cloned host, a copied
// configuration file) each run a Client of that name. The value of an
// address key cannot tell them apart; its lease can.

const twinTold = "another host uses this host's name"

// runLogged is run with the client's log kept in buf.
func runLogged(t *testing.T, b Backend, cfg Config, buf *syncBuf) *running {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(buf, nil))
	return run(t, b, cfg)
}

// The first to claim holds the address; its twin is refused, told the
// holder is another host, and can delete nothing of it; each says once
// that another host goes by its name.
func TestOfTwoClientsWithOneNameOnlyTheFirstClaims(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		var logA, logB syncBuf
		a := runLogged(t, m.Conn("a"), Config{Node: "web"}, &logA)
		reachable(t, a)
		claim(t, a, "web")
		held := a.Status().Lease

		b := runLogged(t, m.Conn("b"), Config{Node: "web"}, &logB)
		reachable(t, b)
		twin := TwinHolder("web")
		// Refused from its first claim on, and ever after.
		for range 3 {
			claim(t, b, twin)
			if kv, ok := m.Get(key); !ok || kv.Value != "web" || kv.Lease != held {
				t.Fatalf("after the twin's claim the key is %+v (ok %v), want web under the first's lease %x", kv, ok, held)
			}
			if err := b.Release(context.Background(), addr); !errors.Is(err, ErrTwin) {
				t.Errorf("the twin's Release: %v, want ErrTwin", err)
			}
			if kv, ok := m.Get(key); !ok || kv.Lease != held {
				t.Fatalf("the twin's Release changed the key: %+v (ok %v), want it under lease %x", kv, ok, held)
			}
			time.Sleep(ttl)
		}
		claim(t, a, "web") // the first holds it still
		// Past its first TTL and EarlierRunSlack, the key is no earlier
		// run's of the twin's: it cannot adopt it either.
		if h, err := b.Adopt(context.Background(), addr); err != nil || h != twin {
			t.Errorf("the twin adopts the key: holder %q, err %v; want %q", h, err, twin)
		}
		if kv, ok := m.Get(key); !ok || kv.Lease != held {
			t.Fatalf("the twin's Adopt changed the key: %+v (ok %v), want it under lease %x", kv, ok, held)
		}
		if e := b.Status().Earlier; len(e) != 0 {
			t.Errorf("the twin's Status.Earlier = %v, want none", e)
		}

		// The twin's view names another host; the first's names itself.
		if h := b.Status().Holders[addr]; h != twin {
			t.Errorf("the twin's Status.Holders[%s] = %q, want %q", addr, h, twin)
		}
		if h := a.Status().Holders[addr]; h != "web" {
			t.Errorf("the first's Status.Holders[%s] = %q, want web", addr, h)
		}
		for name, log := range map[string]*syncBuf{"the first": &logA, "the twin": &logB} {
			if n := strings.Count(log.String(), twinTold); n != 1 {
				t.Errorf("%s told %d times, want once:\n%s", name, n, log.String())
			}
		}

		// Released by the first, the key is the twin's to claim: the
		// first is then refused in turn.
		if err := a.Release(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
		claim(t, b, "web")
		claim(t, a, twin)
	})
}

// A lease let go past its deadline while etcd was down is replaced once
// etcd is back, while the server still holds the old one (a new leader
// gives every lease a full TTL again): the client takes its own key back
// under its new lease, and its twin is refused it all along.
func TestALeaseReplacedWhileTheServerHoldsItTakesItsKeyBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "web"})
		reachable(t, a)
		claim(t, a, "web")
		old := a.Status().Lease
		b := run(t, m.Conn("b"), Config{Node: "web"})
		reachable(t, b)

		m.Down()
		time.Sleep(time.Until(a.Deadline()) + ttl)
		if st := a.Status(); st.Lease != 0 || st.LeasesLost != 1 {
			t.Fatalf("past its deadline with etcd down: lease %x, %d lost; want it let go", st.Lease, st.LeasesLost)
		}
		m.Up()
		waitUntil(t, "a reachable with a new lease", 2*time.Second+ttl/3, func() bool {
			return a.Reachable() && a.Status().Lease != 0
		})
		reachable(t, b)
		if kv, ok := m.Get(key); !ok || kv.Lease != old {
			t.Fatalf("etcd back, the key is %+v (ok %v), want it under a's old lease %x still", kv, ok, old)
		}
		if h := a.Status().Holders[addr]; h != "web" {
			t.Errorf("a's view names %q the holder of its key under its old lease, want web", h)
		}
		claim(t, b, TwinHolder("web"))
		claim(t, a, "web")
		now := a.Status().Lease
		if kv, ok := m.Get(key); !ok || kv.Lease != now || now == old {
			t.Fatalf("a claimed again: the key is %+v (ok %v), want it under a's new lease %x", kv, ok, now)
		}
		claim(t, b, TwinHolder("web"))
		if err := b.Release(context.Background(), addr); !errors.Is(err, ErrTwin) {
			t.Errorf("the twin's Release: %v, want ErrTwin", err)
		}
		if kv, ok := m.Get(key); !ok || kv.Lease != now {
			t.Fatalf("the twin's Release changed the key: %+v (ok %v)", kv, ok)
		}
	})
}

// The key a's lease holds, let go past its deadline, its revoke lost and
// no read since: a's release deletes it, under the old lease, and so
// does a's claim take it back.
func TestALeaseReplacedWhileTheServerHoldsItReleasesItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "web"})
		reachable(t, a)
		claim(t, a, "web")
		old := a.Status().Lease
		m.Down()
		time.Sleep(time.Until(a.Deadline()) + ttl)
		m.Up()
		waitUntil(t, "a reachable with a new lease", 2*time.Second+ttl/3, func() bool {
			return a.Reachable() && a.Status().Lease != 0
		})
		if kv, ok := m.Get(key); !ok || kv.Lease != old {
			t.Fatalf("etcd back, the key is %+v (ok %v), want it under a's old lease %x still", kv, ok, old)
		}
		if err := a.Release(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
		if kv, ok := m.Get(key); ok {
			t.Fatalf("a released its key, still %+v", kv)
		}
	})
}

// A run killed (its lease neither revoked nor renewed) and started again
// at once: the key of its earlier run, under a lease it never held, is
// named as its own (the daemon keeps the address the earlier run left)
// and listed in Status.Earlier, and nothing is told of a twin. A claim of
// it is refused until that lease expires (the key of an address this
// host does not hold); then it is claimed.
func TestARunStartedAgainWaitsForItsEarlierRunsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "web"})
		reachable(t, a)
		claim(t, a, "web")
		old := a.Status().Lease
		m.Cut("a", DropRequests) // killed: nothing more reaches etcd
		synctest.Wait()
		exp, ok := m.LeaseExpiry(old)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}

		var log syncBuf
		again := runLogged(t, m.Conn("a-again"), Config{Node: "web"}, &log)
		reachable(t, again)
		st := again.Status()
		if h := st.Holders[addr]; h != "web" {
			t.Errorf("the new run names %q the holder of its earlier run's key, want web", h)
		}
		if !slices.Equal(st.Earlier, []string{addr}) {
			t.Errorf("the new run's Status.Earlier = %v, want [%s]", st.Earlier, addr)
		}
		claim(t, again, TwinHolder("web"))
		waitUntil(t, "the new run claims its key", ttl+time.Second, func() bool {
			h, err := again.Claim(context.Background(), addr)
			return err == nil && h == "web"
		})
		if time.Now().Before(exp) {
			t.Errorf("claimed %v before the earlier run's lease expired", time.Until(exp))
		}
		if kv, _ := m.Get(key); kv.Lease != again.Status().Lease {
			t.Errorf("the key is %+v, want it under the new run's lease", kv)
		}
		if e := again.Status().Earlier; len(e) != 0 {
			t.Errorf("claimed, Status.Earlier = %v, want none", e)
		}
		if strings.Contains(log.String(), twinTold) {
			t.Errorf("a twin told of the run's own earlier lease:\n%s", log.String())
		}
	})
}

// A run killed and started again that holds the address its earlier run
// left adopts the key at its first round through the majority: the key
// moves under its lease at once, long before the earlier lease expires,
// and nothing is told of a twin. Cut from the majority then, the key
// lives as long as the new run's lease, past its Deadline: the holder,
// rid of the address by its Deadline, never holds it without the key
// (without the adoption the key went with the earlier lease, before that
// Deadline, and another host could claim it).
func TestARunStartedAgainAdoptsItsEarlierRunsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "web"})
		reachable(t, a)
		claim(t, a, "web")
		old := a.Status().Lease
		m.Cut("a", DropRequests) // killed: nothing more reaches etcd
		synctest.Wait()
		exp, ok := m.LeaseExpiry(old)
		if !ok {
			t.Fatal("the earlier run's lease gone at once")
		}

		var log syncBuf
		again := runLogged(t, m.Conn("a-again"), Config{Node: "web"}, &log)
		reachable(t, again)
		time.Sleep(ttl / 3) // a renewal or two later
		h, err := again.Adopt(context.Background(), addr)
		if err != nil || h != "web" {
			t.Fatalf("the new run adopts its earlier run's key: holder %q, err %v; want web", h, err)
		}
		if !time.Now().Before(exp) {
			t.Errorf("adopted only once the earlier run's lease expired")
		}
		lease := again.Status().Lease
		if kv, ok := m.Get(key); !ok || kv.Lease != lease || kv.Value != "web" {
			t.Fatalf("adopted, the key is %+v (ok %v), want web under the new run's lease %x", kv, ok, lease)
		}
		if st := again.Status(); st.Holders[addr] != "web" || len(st.Earlier) != 0 {
			t.Errorf("adopted, Status.Holders[%s] = %q and Earlier %v; want web and none", addr, st.Holders[addr], st.Earlier)
		}
		claim(t, again, "web") // its own now

		m.Cut("a-again", DropRequests)
		synctest.Wait() // a renewal sent at the cut's instant is answered or lost before the deadline is read
		dl := again.Deadline()
		if !dl.After(exp) {
			t.Fatalf("the new run's deadline %v is not past the earlier lease's expiry %v: the test shows nothing", dl, exp)
		}
		if at, ok := m.LeaseExpiry(lease); !ok || !at.After(dl) {
			t.Errorf("the new run's lease expires at %v (ok %v), not after its Deadline %v", at, ok, dl)
		}
		time.Sleep(time.Until(dl) - time.Millisecond)
		if kv, ok := m.Get(key); !ok || kv.Lease != lease {
			t.Errorf("cut, just before the holder's Deadline (and %v past the earlier lease's expiry) the key is %+v (ok %v), want it under lease %x",
				time.Since(exp).Round(time.Millisecond), kv, ok, lease)
		}
		if strings.Contains(log.String(), twinTold) {
			t.Errorf("a twin told of the run's own earlier lease:\n%s", log.String())
		}
	})
}
