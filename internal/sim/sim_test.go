package sim

import (
	"fmt"
	"testing"
)

// TestSimulation runs 24 seeds (SIM_SEEDS=N: 1..N; SIM_SEED=S: S alone)
// and prints what they covered.
func TestSimulation(t *testing.T) {
	tot := Check(t, 24)
	fmt.Printf("simulation: %v\n", tot)
}
