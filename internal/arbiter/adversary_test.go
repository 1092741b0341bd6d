package arbiter

import (
	"context"
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
