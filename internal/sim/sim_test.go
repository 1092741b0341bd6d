package sim

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"testing/synctest"
)

// seeds are the seeds to run: SIM_SEED=S runs S alone, SIM_SEEDS=N runs
// 1..N (make sim); by default a few, for go test ./...
func seeds(t *testing.T, byDefault int) []uint64 {
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

func TestSimulation(t *testing.T) {
	for _, seed := range seeds(t, 24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				res := Run(seed)
				if res.Breach != "" {
					t.Fatal(res)
				}
				if os.Getenv("SIM_VERBOSE") != "" {
					t.Log(res)
				}
			})
		})
	}
}
