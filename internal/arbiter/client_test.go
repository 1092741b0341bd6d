package arbiter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run Clients over Memory under testing/synctest: time is
// the bubble's, so a TTL of 3 s takes no time, and every instant is exact.

const (
	ttl  = 3 * time.Second
	addr = "192.0.2.10"
	key  = DefaultPrefix + "/addr/" + addr
)

// running is a Client whose Run goroutine the test stops (or the cleanup
// does).
type running struct {
	*Client
	cancel context.CancelFunc
	done   chan struct{}
}

func run(t *testing.T, b Backend, cfg Config) *running {
	t.Helper()
	if cfg.TTL == 0 {
		cfg.TTL = ttl
	}
	if cfg.Role == "" {
		cfg.Role = "standby 100"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	c, err := New(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Client: c, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("%s: Run: %v", cfg.Node, err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// stop ends Run and waits until it has returned (and revoked).
func (r *running) stop() {
	r.cancel()
	<-r.done
}

// waitUntil polls cond every 10 ms of bubble time until it holds, or
// fails the test once within has passed.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func reachable(t *testing.T, rs ...*running) {
	t.Helper()
	for _, r := range rs {
		waitUntil(t, r.cfg.Node+" reachable", ttl, r.Reachable)
	}
}

func claim(t *testing.T, r *running, want string) {
	t.Helper()
	h, err := r.Claim(context.Background(), addr)
	if err != nil || h != want {
		t.Fatalf("%s claims %s: holder %q, err %v; want holder %q", r.cfg.Node, addr, h, err, want)
	}
}

func drain(c <-chan struct{}) {
	select {
	case <-c:
	default:
	}
}

func changed(t *testing.T, r *running, why string) {
	t.Helper()
	select {
	case <-r.Changes():
	default:
		t.Errorf("%s: no token on Changes when %s", r.cfg.Node, why)
	}
}

// delayed holds each keep-alive in flight, and its answer, for a while,
// and records when each was sent and which were answered.
type delayed struct {
	Backend
	inFlight, back time.Duration

	mu    sync.Mutex
	sent  []time.Time
	acked []time.Time // send times of the renewals answered
}

func (d *delayed) KeepAlive(ctx context.Context, id LeaseID) (time.Duration, error) {
	at := time.Now()
	d.mu.Lock()
	d.sent = append(d.sent, at)
	d.mu.Unlock()
	time.Sleep(d.inFlight)
	ttl, err := d.Backend.KeepAlive(ctx, id)
	time.Sleep(d.back)
	if err == nil {
		d.mu.Lock()
		d.acked = append(d.acked, at)
		d.mu.Unlock()
	}
	return ttl, err
}

func TestMarginIsASixthOfTheTTLPlusTwiceTheClockRateError(t *testing.T) {
	if got, want := Margin(3*time.Second), 506*time.Millisecond; got != want {
		t.Errorf("Margin(3s) = %v, want %v (500 ms + 2 × 10⁻³ × 3 s)", got, want)
	}
}

func TestDeadlineCountsFromWhenTheRenewalWasSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		d := &delayed{Backend: m.Conn("a"), inFlight: 150 * time.Millisecond, back: 150 * time.Millisecond}
		a := run(t, d, Config{Node: "a"})
		// Rounds at 0, 0.5, …, 2.5 s; the one sent at 2.5 s is answered
		// at 2.8 s, and the next is sent at 3.0 s.
		time.Sleep(2900 * time.Millisecond)
		synctest.Wait()

		d.mu.Lock()
		sent, acked := d.sent, d.acked
		d.mu.Unlock()
		for i := 1; i < len(sent); i++ {
			if gap := sent[i].Sub(sent[i-1]); gap != ttl/6 {
				t.Errorf("renewals %d and %d sent %v apart, want TTL/6 = %v", i-1, i, gap, ttl/6)
			}
		}
		if len(acked) != 5 {
			t.Fatalf("%d renewals answered by 2.9 s, want 5 (sent at 0.5, 1, 1.5, 2, 2.5 s)", len(acked))
		}
		last := acked[len(acked)-1]
		st := a.Status()
		if !st.Renewed.Equal(last) {
			t.Errorf("Status.Renewed = %v, want the last answered renewal's send time %v", st.Renewed, last)
		}
		if want := last.Add(ttl - Margin(ttl)); !a.Deadline().Equal(want) {
			t.Errorf("Deadline = %v, want send time + TTL - margin = %v (%v after the answer came)",
				a.Deadline(), want, a.Deadline().Sub(last.Add(300*time.Millisecond)))
		}
		exp, ok := m.LeaseExpiry(st.Lease)
		if want := last.Add(150*time.Millisecond + ttl); !ok || !exp.Equal(want) {
			t.Errorf("server expiry %v (ok %v), want when the renewal arrived + TTL = %v", exp, ok, want)
		}
		if !a.Deadline().Before(exp) {
			t.Errorf("Deadline %v not before the server's expiry %v", a.Deadline(), exp)
		}
	})
}

func TestOnlyOneOfTwoClientsHoldsAnAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a"})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)

		var wg sync.WaitGroup
		holders := map[*running]string{}
		var mu sync.Mutex
		for _, r := range []*running{a, b} {
			wg.Go(func() {
				h, err := r.Claim(context.Background(), addr)
				if err != nil {
					t.Errorf("%s: Claim: %v", r.cfg.Node, err)
				}
				mu.Lock()
				holders[r] = h
				mu.Unlock()
			})
		}
		wg.Wait()
		if holders[a] != holders[b] || (holders[a] != "a" && holders[a] != "b") {
			t.Fatalf("a was told %q holds it, b was told %q: want one holder both agree on", holders[a], holders[b])
		}
		winner, loser := a, b
		if holders[a] == "b" {
			winner, loser = b, a
		}
		kv, ok := m.Get(key)
		if !ok || kv.Value != winner.cfg.Node || kv.Lease != winner.Status().Lease {
			t.Fatalf("server holds %+v (ok %v), want %s under its lease %x", kv, ok, winner.cfg.Node, winner.Status().Lease)
		}

		// The loser can neither take it nor delete it.
		claim(t, loser, winner.cfg.Node)
		if err := loser.Release(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
		if kv, ok := m.Get(key); !ok || kv.Value != winner.cfg.Node {
			t.Fatalf("the loser's Release changed the key: %+v (ok %v)", kv, ok)
		}
		claim(t, winner, winner.cfg.Node) // claiming again is holding still

		// Released, it is free for the other.
		if err := winner.Release(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Get(key); ok {
			t.Fatal("the key outlived its holder's Release")
		}
		claim(t, loser, loser.cfg.Node)
		if got := loser.Status().Holders[addr]; got != loser.cfg.Node {
			t.Errorf("Status.Holders[%s] = %q after the claim, want %q", addr, got, loser.cfg.Node)
		}
	})
}

// skewed is a clock whose rate is off true (bubble) time by a factor.
type skewed struct {
	origin time.Time
	rate   float64
}

func (s skewed) Now() time.Time {
	return s.origin.Add(time.Duration(float64(time.Since(s.origin)) * s.rate))
}

func (s skewed) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / s.rate))
}

// real is the true time at which this clock reads t.
func (s skewed) real(t time.Time) time.Time {
	return s.origin.Add(time.Duration(float64(t.Sub(s.origin)) / s.rate))
}

func TestACutClientLetsGoBeforeAnotherCanClaim(t *testing.T) {
	for _, cut := range []Cut{DropRequests, RefuseRequests, DropAnswers} {
		for _, skew := range []bool{false, true} {
			name := cut.String()
			if skew {
				name += "/client-slow-server-fast"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { cutClient(t, cut, skew) })
			})
		}
	}
}

func cutClient(t *testing.T, cut Cut, skew bool) {
	client, server := skewed{time.Now(), 1}, skewed{time.Now(), 1}
	if skew { // the worst the margin allows for
		client.rate, server.rate = 1-ClockRateError, 1+ClockRateError
	}
	m := NewMemory(MemoryConfig{Now: server.Now})
	a := run(t, m.Conn("a"), Config{Node: "a", Clock: client})
	b := run(t, m.Conn("b"), Config{Node: "b"})
	reachable(t, a, b)
	claim(t, a, "a")
	drain(a.Changes())

	m.Cut("a", cut)
	cutAt := time.Now()
	// Within two rounds: the next renewal, sent within TTL/6, fails
	// within TTL/6.
	waitUntil(t, "a unreachable", 2*ttl/6+10*time.Millisecond, func() bool { return !a.Reachable() })
	changed(t, a, "the majority went out of reach")
	if _, err := a.Claim(context.Background(), addr); !errors.Is(err, ErrUnreachable) {
		t.Errorf("a cut from the majority claims: %v, want ErrUnreachable", err)
	}
	deadline, lease := a.Deadline(), a.Status().Lease
	if deadline.IsZero() {
		t.Fatal("no deadline while the lease may still live")
	}
	due := client.real(deadline)
	if d := due.Sub(cutAt); d > ttl {
		t.Errorf("a's deadline is %v after the cut, more than a TTL", d)
	}

	// Before a's deadline, b is refused; at it, the server still has a's
	// lease, with its expiry to come.
	for time.Now().Before(due) {
		h, err := b.Claim(context.Background(), addr)
		if err != nil || h != "a" {
			t.Fatalf("%v before a's deadline b claims: holder %q, err %v; want a's", time.Until(due), h, err)
		}
		time.Sleep(min(50*time.Millisecond, time.Until(due)))
	}
	if kv, ok := m.Get(key); !ok || kv.Value != "a" {
		t.Errorf("at a's deadline the server holds %+v (ok %v), want a's key still", kv, ok)
	}
	exp, ok := m.LeaseExpiry(lease)
	if !ok || !server.real(exp).After(due) {
		t.Fatalf("at a's deadline %v the server's lease ends at %v (ok %v): not after it", due, server.real(exp), ok)
	}
	t.Logf("a's deadline %v after the cut; the server's expiry %v after that",
		due.Sub(cutAt), server.real(exp).Sub(due))

	// After it, b takes the address: when the server expires the lease,
	// or sooner when a's revoke gets through.
	waitUntil(t, "b holds the address", ttl, func() bool {
		h, _ := b.Claim(context.Background(), addr)
		return h == "b"
	})

	// Healed, a has a new lease and sees b's claim.
	m.Heal("a")
	waitUntil(t, "a reachable again", ttl, a.Reachable)
	st := a.Status()
	if st.Lease == lease || st.LeasesLost != 1 {
		t.Errorf("after the cut a has lease %x (was %x), %d lost; want a new one, one lost", st.Lease, lease, st.LeasesLost)
	}
	claim(t, a, "b")
}

func TestAnExpiredLeaseFreesItsAddressesForAnother(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a"})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)
		claim(t, a, "a")
		lease := a.Status().Lease

		m.Cut("a", DropRequests) // a host that died, as the server sees it
		synctest.Wait()
		exp, ok := m.LeaseExpiry(lease)
		if !ok {
			t.Fatal("a's lease gone at once")
		}
		time.Sleep(time.Until(exp) - time.Millisecond)
		claim(t, b, "a")
		time.Sleep(time.Millisecond)
		claim(t, b, "b")
		if _, ok := m.LeaseExpiry(lease); ok {
			t.Error("a's lease outlived its expiry")
		}
	})
}

func TestANodeWhoseLeaseExpiredIsNotAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a", Role: "primary"})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)
		waitUntil(t, "b sees a", ttl, func() bool { alive, known := b.Alive("a"); return alive && known })
		if role := b.Status().Nodes["a"]; role != "primary" {
			t.Errorf("b reads a's role %q, want primary", role)
		}
		drain(b.Changes())

		lease := a.Status().Lease
		m.Cut("a", DropRequests)
		synctest.Wait()
		exp, _ := m.LeaseExpiry(lease)
		waitUntil(t, "a not alive to b", ttl+ttl/6, func() bool { alive, _ := b.Alive("a"); return !alive })
		if time.Now().Before(exp) {
			t.Errorf("b saw a gone %v before the server expired a's lease", time.Until(exp))
		}
		if late := time.Since(exp); late > ttl/6+10*time.Millisecond {
			t.Errorf("b saw a gone %v after its lease expired, more than a round (%v)", late, ttl/6)
		}
		if _, known := b.Alive("a"); !known {
			t.Error("b, reaching the majority, does not know whether a is alive")
		}
		changed(t, b, "a's liveness key went")
		if _, ok := b.Status().Nodes["a"]; ok {
			t.Error("b's Status still lists a among the nodes alive")
		}
	})
}

func TestLivenessIsUnknownWithoutARecentRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a"})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)
		waitUntil(t, "a sees b", ttl, func() bool { alive, _ := a.Alive("b"); return alive })
		readAt := a.Status().ReadAt

		m.Cut("a", DropRequests)
		waitUntil(t, "a's view of b unknown", 2*ttl, func() bool { _, known := a.Alive("b"); return !known })
		if age := time.Since(readAt); age < ttl {
			t.Errorf("liveness unknown %v after the last read, before a TTL", age)
		}
		if alive, _ := a.Alive("b"); alive {
			t.Error("Alive says alive while not known")
		}
	})
}

func TestACleanStopFreesTheAddressesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a"})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)
		claim(t, a, "a")
		lease := a.Status().Lease

		before := time.Now()
		a.stop()
		if took := time.Since(before); took > 0 {
			t.Errorf("stopping took %v of bubble time, want none", took)
		}
		if _, ok := m.LeaseExpiry(lease); ok {
			t.Error("a's lease outlived its clean stop")
		}
		if !a.Deadline().IsZero() || a.Reachable() {
			t.Errorf("stopped, a still has a deadline %v or reachability %v", a.Deadline(), a.Reachable())
		}
		claim(t, b, "b")
		waitUntil(t, "b sees a gone", ttl/6+10*time.Millisecond, func() bool { alive, _ := b.Alive("a"); return !alive })
	})
}

func TestALeaseFoundGoneIsReplacedAndItsClaimsAreLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a", Role: "primary"})
		reachable(t, a)
		claim(t, a, "a")
		old := a.Status().Lease
		drain(a.Changes())

		// An operator revokes it (etcdctl lease revoke).
		if err := m.Conn("etcdctl").Revoke(context.Background(), old); err != nil {
			t.Fatal(err)
		}
		revokedAt := time.Now()
		waitUntil(t, "a has a new lease", ttl/6+10*time.Millisecond, func() bool {
			l := a.Status().Lease
			return l != 0 && l != old
		})
		synctest.Wait()
		changed(t, a, "its lease was found gone")
		st := a.Status()
		if st.LeasesLost != 1 || st.LeaseLostAt.Before(revokedAt) {
			t.Errorf("Status: %d leases lost, last at %v; want 1, after %v", st.LeasesLost, st.LeaseLostAt, revokedAt)
		}
		if h, ok := st.Holders[addr]; ok {
			t.Errorf("Status says %s holds %s after the lease it held it under was lost", h, addr)
		}
		if kv, ok := m.Get(DefaultPrefix + "/node/a"); !ok || kv.Lease != st.Lease || kv.Value != "primary" {
			t.Errorf("liveness key %+v (ok %v), want primary under the new lease %x", kv, ok, st.Lease)
		}
		if _, ok := m.Get(key); ok {
			t.Error("the address key outlived its lease")
		}
		if !a.Deadline().After(time.Now()) {
			t.Errorf("Deadline %v not ahead with a new lease", a.Deadline())
		}
		claim(t, a, "a")
	})
}

// With every member down, leases wait; when the cluster is back, a client
// that kept its lease past its deadline has it still, and one that let it
// go has a new one, its keys under the old until it expires.
func TestPastItsDeadlineALeaseIsLetGoUnlessKept(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := "let-go"
		if keep {
			name = "kept"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := NewMemory(MemoryConfig{})
				a := run(t, m.Conn("a"), Config{Node: "a", KeepPastDeadline: keep})
				reachable(t, a)
				claim(t, a, "a")
				old := a.Status().Lease

				m.Down()
				synctest.Wait() // a renewal sent at the outage's instant is answered or lost before the deadline is read
				deadline := a.Deadline()
				time.Sleep(time.Until(deadline) + ttl)
				if _, err := a.Claim(context.Background(), addr); !errors.Is(err, ErrNoLease) {
					t.Errorf("past its deadline a claims: %v, want ErrNoLease", err)
				}
				if !keep && a.Status().Lease != 0 {
					t.Errorf("past its deadline a still has lease %x", a.Status().Lease)
				}
				m.Up()
				waitUntil(t, "a reachable", 2*time.Second+ttl/6, a.Reachable)
				st := a.Status()
				kv, ok := m.Get(key)
				if !ok || kv.Value != "a" || kv.Lease != old {
					t.Fatalf("after the outage the key is %+v (ok %v), want a's under lease %x", kv, ok, old)
				}
				if keep {
					if st.Lease != old || st.LeasesLost != 0 || !a.Deadline().After(time.Now()) {
						t.Errorf("kept: lease %x (was %x), %d lost, deadline %v; want the same lease renewed",
							st.Lease, old, st.LeasesLost, a.Deadline())
					}
					return
				}
				if st.Lease == old || st.LeasesLost != 1 {
					t.Errorf("let go: lease %x (was %x), %d lost; want a new one, one lost", st.Lease, old, st.LeasesLost)
				}
				claim(t, a, "a") // the claim moves under the new lease
				if kv, _ := m.Get(key); kv.Lease != st.Lease {
					t.Errorf("claimed again, the key is under lease %x, want the new %x", kv.Lease, st.Lease)
				}
			})
		})
	}
}

// DownDeadline: zero while no round found every member refusing; with
// every member down, the last such round's send time plus the TTL less
// the margin, moving on with each round; once the members are back it
// moves no more, and the server keeps the lease at least that long: it
// expires a TTL after the election, not before.
func TestDownDeadlineCountsFromTheLastRoundEveryMemberRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a", KeepPastDeadline: true})
		reachable(t, a)
		claim(t, a, "a")
		if dl := a.DownDeadline(); !dl.IsZero() {
			t.Fatalf("every member up: DownDeadline %v, want zero", dl)
		}
		lease := a.Status().Lease
		m.Down()
		time.Sleep(2 * ttl)
		dl := a.DownDeadline()
		if left := time.Until(dl); left <= ttl-Margin(ttl)-ttl/3 || left > ttl-Margin(ttl) {
			t.Fatalf("every member down for two TTLs: DownDeadline %v from now, want within a round of %v", left, ttl-Margin(ttl))
		}
		m.Up()
		time.Sleep(ttl / 3) // a round that counted them down may end meanwhile
		dl = a.DownDeadline()
		time.Sleep(ttl)
		if got := a.DownDeadline(); !got.Equal(dl) {
			t.Fatalf("members back: DownDeadline moved from %v to %v", dl, got)
		}
		if exp, ok := m.LeaseExpiry(lease); !ok || exp.Before(dl) {
			t.Fatalf("the server expires the lease at %v (%v), before DownDeadline %v", exp, ok, dl)
		}
	})
}

// A claim that goes unanswered (its request lost, the rounds before and
// after it answered) makes the client unreachable until the next round
// reaches the majority, with a token on Changes each way: a takeover
// refused for it is tried again then.
func TestAClaimUnansweredCountsAsUnreachableUntilTheNextRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a"})
		reachable(t, a)
		// Right after a round: the claim's request is lost, the rounds
		// around it go through.
		read := a.Status().ReadAt
		for a.Status().ReadAt.Equal(read) {
			time.Sleep(time.Millisecond)
		}
		// Not at a round's instant: a claim bounded by TTL/6 would then
		// time out at the very instant of the next round, and which of
		// the two the client hears last is the scheduler's choice.
		time.Sleep(100 * time.Millisecond)
		drain(a.Changes())
		m.Cut("a", DropRequests)
		errc := make(chan error, 1)
		go func() { _, err := a.Claim(context.Background(), addr); errc <- err }()
		time.Sleep(10 * time.Millisecond)
		m.Heal("a")
		if err := <-errc; err == nil {
			t.Fatal("a claim with its request lost succeeded")
		}
		if a.Reachable() {
			t.Fatal("reachable after a claim went unanswered")
		}
		select {
		case <-a.Changes():
		default:
			t.Fatal("no token on Changes for the unanswered claim")
		}
		waitUntil(t, "a reachable again", ttl/3, a.Reachable)
		select {
		case <-a.Changes():
		default:
			t.Fatal("no token on Changes for the majority reached again")
		}
	})
}

func TestNewRefusesANameThatWouldBreakTheKeys(t *testing.T) {
	for _, name := range []string{"", "a/b"} {
		if _, err := New(NewMemory(MemoryConfig{}).Conn("x"), Config{Node: name}); err == nil {
			t.Errorf("New accepted node name %q", name)
		}
	}
}

// renewals records when each renewal was sent.
type renewals struct {
	Backend
	mu   sync.Mutex
	sent []time.Time
}

func (r *renewals) KeepAlive(ctx context.Context, id LeaseID) (time.Duration, error) {
	r.mu.Lock()
	r.sent = append(r.sent, time.Now())
	r.mu.Unlock()
	return r.Backend.KeepAlive(ctx, id)
}

// between returns the renewals sent from from to to.
func (r *renewals) between(from, to time.Time) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(r.sent), func(at time.Time) bool { return at.Before(from) || at.After(to) })
}

// A holder cut from every member in silence (requests or answers lost)
// for half its lease, then healed, renews within a round of the heal,
// before its deadline, whatever the cut's phase against its rounds; and
// through the cut it sends a renewal every round, a TTL/6 apart: a
// round asks the members beside its renewal, so a round through the cut
// lasts one call's bound. Asked after the renewal, the silent members
// made each round two bounds long: over etcd, where a connection the cut
// left hanging resumes late, the renewal after the heal came up to a
// second late, past the deadline of a holder whose cut fell just after
// a renewal (e2e: TestArbiterBlipOfThePrimarysManagementLinkChangesNothing).
func TestASilentCutHealedIsRenewedWithinARound(t *testing.T) {
	for _, cut := range []Cut{DropRequests, DropAnswers} {
		t.Run(cut.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := NewMemory(MemoryConfig{})
				rec := &renewals{Backend: m.Conn("a")}
				a := run(t, rec, Config{Node: "a"})
				reachable(t, a)
				claim(t, a, "a")
				lease := a.Status().Lease
				for phase := time.Duration(0); phase < ttl/6; phase += ttl / 30 {
					// The next round renews at once: a TTL/6 after the last renewal was sent.
					time.Sleep(time.Until(a.Status().Renewed.Add(ttl / 6)))
					synctest.Wait()
					time.Sleep(phase)
					m.Cut("a", cut)
					cutAt := time.Now()
					synctest.Wait() // a round at the cut's instant: its renewal answered or lost
					deadline := a.Deadline()
					time.Sleep(ttl / 2)
					m.Heal("a")
					healed := time.Now()
					waitUntil(t, fmt.Sprintf("a renewal after the heal of a cut %v after a renewal", phase), ttl/6+10*time.Millisecond,
						func() bool { return !a.Status().Renewed.Before(healed) })
					if st := a.Status(); st.Lease != lease || st.LeasesLost != 0 || time.Now().After(deadline) {
						t.Fatalf("a cut %v after a renewal, for %v: renewed %v after the heal, its deadline %v after it; lease %x (was %x), %d lost",
							phase, ttl/2, time.Since(healed), deadline.Sub(healed), st.Lease, lease, st.LeasesLost)
					}
					sent := rec.between(cutAt.Add(-ttl/6), a.Status().Renewed)
					for i := 1; i < len(sent); i++ {
						if gap := sent[i].Sub(sent[i-1]); gap > ttl/6 {
							t.Fatalf("a cut %v after a renewal: renewals sent %v apart through the cut, more than a round (%v): %v",
								phase, gap, ttl/6, sent)
						}
					}
				}
				if kv, ok := m.Get(key); !ok || kv.Value != "a" || kv.Lease != lease {
					t.Errorf("after the cuts the key is %+v (%v), want a's under lease %x", kv, ok, lease)
				}
			})
		})
	}
}
