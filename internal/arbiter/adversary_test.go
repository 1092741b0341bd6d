package arbiter

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A one-way cut: a's requests reach the majority, its answers are lost.
// Its renewals then keep its lease alive on the server, so the client
// lets the lease go by revoking it, and that revoke arrives. It must not
// free a's keys before the server itself could have expired the lease:
// the margin between a's deadline and that expiry is the slack a has to
// remove its addresses (removing them starts at the deadline), and a
// claim granted to b within it makes two hosts answer at once.
func TestARevokePastTheDeadlineLeavesTheHolderItsSlack(t *testing.T) {
	for _, skew := range []bool{false, true} {
		name := "same-rate"
		if skew {
			name = "client-fast-server-fast"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client := skewed{time.Now(), 1}
				if skew {
					client.rate = 1 + ClockRateError
				}
				m := NewMemory(MemoryConfig{})
				a := run(t, m.Conn("a"), Config{Node: "a", Clock: client})
				b := run(t, m.Conn("b"), Config{Node: "b"})
				reachable(t, a, b)
				claim(t, a, "a")
				m.Cut("a", DropAnswers)
				waitUntil(t, "a unreachable", 2*ttl/6+10*time.Millisecond, func() bool { return !a.Reachable() })
				st := a.Status()
				due := client.real(a.Deadline())
				// The earliest the server may expire the lease: a TTL
				// after the renewal was sent, on a clock fast by the
				// allowance.
				earliest := client.real(st.Renewed).Add(time.Duration(float64(st.TTL) / (1 + ClockRateError)))
				for {
					h, err := b.Claim(context.Background(), addr)
					if err == nil && h == "b" {
						break
					}
					if time.Since(due) > 2*ttl {
						t.Fatalf("b never got the key: %q, %v", h, err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				if got := time.Now(); got.Before(earliest) {
					t.Fatalf("b got a's key %v after a's deadline, %v before the server could have expired a's lease: a had %v of the %v it is promised to remove its addresses",
						got.Sub(due), earliest.Sub(got), got.Sub(due), Margin(st.TTL))
				}
			})
		})
	}
}

// Two hosts with one name (FAILOVER_NODE_NAME defaults to the host name
// up to its first dot): their claims are told apart by their leases
// (twin_test.go), but the liveness of the name stands for either. The
// one whose liveness key the other wrote over says so, loudly.
func TestTwoHostsWithOneNameAreTold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		var log syncBuf
		a, err := New(m.Conn("a"), Config{Node: "web", Role: "standby 100", TTL: ttl, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(ctx) }()
		defer func() { cancel(); <-done }()
		waitUntil(t, "a reachable", ttl, a.Reachable)
		b := run(t, m.Conn("b"), Config{Node: "web"})
		reachable(t, b)
		time.Sleep(ttl)
		if n := strings.Count(log.String(), "another host uses this host's name"); n != 1 {
			t.Fatalf("told %d times, want once:\n%s", n, log.String())
		}
	})
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FAILOVER_ARBITER_LOST=keep keeps a lease past its deadline only for a
// holder that keeps its addresses: while every member refuses the
// connection (etcd down for everyone). Under a one-way cut (requests
// arrive, answers lost) the members are silent, not refusing: the holder
// removes its addresses at the deadline, and its renewals, which still
// arrive, must not keep its keys on the server, or no other host may
// take the addresses for as long as the cut lasts.
func TestAKeptLeaseDoesNotOutliveAOneWayCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(MemoryConfig{})
		a := run(t, m.Conn("a"), Config{Node: "a", KeepPastDeadline: true})
		b := run(t, m.Conn("b"), Config{Node: "b"})
		reachable(t, a, b)
		claim(t, a, "a")
		m.Cut("a", DropAnswers)
		waitUntil(t, "b holds the address", 3*ttl, func() bool {
			h, _ := b.Claim(context.Background(), addr)
			return h == "b"
		})
	})
}
