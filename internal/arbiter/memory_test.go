package arbiter

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// bounded is one call's context, as the Client makes them.
func bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 500*time.Millisecond)
}

func TestMemoryGrantsWholeSecondsAndAtLeastOneAndAHalfElectionTimeouts(t *testing.T) {
	m := NewMemory(MemoryConfig{}) // election timeout 1 s: at least 2 s
	for _, c := range []struct{ ask, want time.Duration }{
		{time.Second, 2 * time.Second},
		{2500 * time.Millisecond, 3 * time.Second},
		{5 * time.Second, 5 * time.Second},
	} {
		_, got, err := m.Conn("a").Grant(context.Background(), c.ask)
		if err != nil || got != c.want {
			t.Errorf("Grant(%v) = %v, %v; want %v (as etcd grants)", c.ask, got, err, c.want)
		}
	}
}

func TestMemoryServesWhileAMajorityIsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		c := m.Conn("a")
		m.StopMember(2) // not the leader: nothing changes
		ctx, cancel := bounded()
		defer cancel()
		if err := c.Put(ctx, "/k", "v", 0); err != nil {
			t.Fatalf("one member of three down: %v", err)
		}
		if n := c.Members(ctx); n.Answering != 2 || n.Total != 3 || n.Refusing != 1 {
			t.Errorf("Members = %+v, want 2 of 3 answering, 1 refusing", n)
		}

		m.StopMember(1) // the majority gone
		start := time.Now()
		_, err := c.List(ctx, "/")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 500*time.Millisecond {
			t.Errorf("without a majority List returned %v after %v, want the context's deadline after 500ms", err, time.Since(start))
		}
		if n := c.Members(context.Background()); n.Answering != 0 {
			t.Errorf("without a leader %+v, want none answering", n)
		}

		m.StartMember(2) // a majority again, with an election to hold
		ctx, cancel = bounded()
		defer cancel()
		if err := c.Put(ctx, "/k", "w", 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("before the election Put: %v, want the context's deadline", err)
		}
		time.Sleep(time.Second)
		if !m.HasLeader() {
			t.Fatal("no leader an election timeout after the majority came back")
		}
		if kv, ok := m.Get("/k"); !ok || kv.Value != "v" {
			t.Errorf("/k = %+v (ok %v), want v: a write that timed out without a leader took effect", kv, ok)
		}
	})
}

func TestMemoryALeaderWithoutItsMajorityRenewsUntilItStepsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		c := m.Conn("a")
		id, _, err := c.Grant(context.Background(), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m.StopMember(1)
		m.StopMember(2) // member 0, the leader, is left alone
		time.Sleep(time.Second - time.Millisecond)
		ctx, cancel := bounded()
		defer cancel()
		if _, err := c.KeepAlive(ctx, id); err != nil {
			t.Errorf("the leader renews before it steps down: %v", err)
		}
		if _, err := c.List(ctx, "/"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the leader alone reads: %v, want the context's deadline", err)
		}
		ctx, cancel = bounded()
		defer cancel()
		if _, err := c.KeepAlive(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stepped down, the leader renews: %v, want the context's deadline", err)
		}
	})
}

func TestMemoryLeasesWaitWithoutALeaderAndRestartOnANewOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		c := m.Conn("a")
		id, granted, err := c.Grant(context.Background(), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Put(context.Background(), "/k", "v", id); err != nil {
			t.Fatal(err)
		}
		m.Down()
		time.Sleep(10 * granted)
		if at, ok := m.LeaseExpiry(id); !ok || !at.IsZero() {
			t.Fatalf("cluster down for 10 TTLs: lease expiry %v (ok %v), want alive and waiting", at, ok)
		}
		up := time.Now()
		m.Up()
		time.Sleep(time.Second) // the election
		at, ok := m.LeaseExpiry(id)
		if want := up.Add(2*time.Second + granted); !ok || !at.Equal(want) {
			t.Errorf("after the election the lease ends at %v (ok %v), want election + election timeout + TTL = %v", at, ok, want)
		}
		time.Sleep(time.Until(at))
		if _, ok := m.Get("/k"); ok {
			t.Error("the key outlived its lease")
		}
	})
}

func TestMemoryLeaderLossExtendsLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		id, granted, _ := m.Conn("a").Grant(context.Background(), 3*time.Second)
		time.Sleep(time.Second)
		stopped := time.Now()
		m.StopMember(0) // the leader
		time.Sleep(time.Second)
		at, ok := m.LeaseExpiry(id)
		if want := stopped.Add(2*time.Second + granted); !ok || !at.Equal(want) {
			t.Errorf("after a new leader the lease ends at %v (ok %v), want %v", at, ok, want)
		}
	})
}

func TestMemoryCuts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		c := m.Conn("a")

		m.Cut("a", RefuseRequests)
		start := time.Now()
		if err := c.Put(context.Background(), "/refused", "v", 0); !errors.Is(err, ErrRefused) || time.Since(start) != 0 {
			t.Errorf("refused: %v after %v, want ErrRefused at once", err, time.Since(start))
		}

		m.Cut("a", DropRequests)
		ctx, cancel := bounded()
		defer cancel()
		if err := c.Put(ctx, "/dropped", "v", 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dropped: %v, want the context's deadline", err)
		}

		m.Cut("a", DropAnswers)
		ctx, cancel = bounded()
		defer cancel()
		if err := c.Put(ctx, "/unanswered", "v", 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("answer dropped: %v, want the context's deadline", err)
		}

		m.Heal("a")
		for k, want := range map[string]bool{"/refused": false, "/dropped": false, "/unanswered": true} {
			if _, ok := m.Get(k); ok != want {
				t.Errorf("%s written: %v, want %v", k, ok, want)
			}
		}
		if err := c.Put(context.Background(), "/healed", "v", 0); err != nil {
			t.Errorf("healed: %v", err)
		}
	})
}
