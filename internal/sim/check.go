package sim

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Seeds are the seeds a test runs: SIM_SEED=S runs S alone, SIM_SEEDS=N
// runs 1..N (make sim), and otherwise 1..byDefault.
func Seeds(t testing.TB, byDefault int) []uint64 {
	if s := os.Getenv("SIM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIM_SEED=%q: %v", s, err)
		}
		return []uint64{n}
	}
	n := byDefault
	if s := os.Getenv("SIM_SEEDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("SIM_SEEDS=%q: want a count", s)
		}
		n = v
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// Totals add up what the runs of a test saw.
type Totals struct {
	mu        sync.Mutex
	Runs      int
	Simulated time.Duration
	Takeovers int
	Breaches  int
	Several   int // runs with two or three standbys
	Arbiter   int // runs with an arbiter
	LowerTook int // takeovers by a standby while one that ranks above it ran
	Pairs     int // times two standbys answered at once
}

func (t *Totals) add(r Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Runs++
	t.Simulated += r.Took
	t.Takeovers += r.Takeovers
	if r.Standbys > 1 {
		t.Several++
	}
	if r.Arbiter {
		t.Arbiter++
	}
	t.LowerTook += r.LowerTook
	t.Pairs += r.Pairs
	if r.Breach != "" {
		t.Breaches++
	}
}

func (t *Totals) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d runs (%d with two or three standbys, %d with an arbiter), %.1f simulated hours, %d takeovers (%d by a standby while a higher one ran), two standbys answering %d times, %d breaches",
		t.Runs, t.Several, t.Arbiter, t.Simulated.Hours(), t.Takeovers, t.LowerTook, t.Pairs, t.Breaches)
}

// Check runs the simulation for each seed of Seeds(t, byDefault), in
// parallel, each in a synctest bubble of its own, and fails a seed's
// subtest with its result (the seed, the breach, the timeline) on a
// breach. Packages the simulation guards call it from their own tests,
// so that a mutant of theirs that breaks a promise fails them.
func Check(t *testing.T, byDefault int) *Totals {
	tot := &Totals{}
	t.Run("seeds", func(t *testing.T) {
		for _, seed := range Seeds(t, byDefault) {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					res := Run(seed)
					tot.add(res)
					if res.Breach != "" {
						t.Fatal(res)
					}
					if os.Getenv("SIM_VERBOSE") != "" {
						t.Log(res)
					}
				})
			})
		}
	})
	return tot
}
