package standby_test

import (
	"testing"

	"github.com/ipfailover/ipfailover/internal/sim"
)

// The simulation of the whole pair (internal/sim) runs this package's
// code among one to three standbys under faults and attacks: a change
// here that breaks a promise fails this test, and mutation testing
// counts it for this package.
func TestSimulationOfThePair(t *testing.T) { sim.Check(t, 16) }
