package main

import (
	"os/exec"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// One short ipfailover round, so the driver cannot rot between runs of
// make bench and a broken takeover, goodbye or give-back shows: CI runs it
// with the other lab tests.
func TestSmoke(t *testing.T) {
	lab.Require(t)
	bin := t.TempDir()
	if err := buildDaemons(bin); err != nil {
		t.Fatal(err)
	}
	out, err := smokeRound(ipfailover{bin: bin})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		o := out[sc]
		t.Logf("%s: outage %v, the server due to answer did after %v (then unanswered %v at most, %d answers from the other); two MACs answered %d of %d ARP rounds (%v)",
			sc, o.Outage, o.Moved, o.After, o.Others, o.DualRounds, o.ARPRounds, o.Dual)
	}
	for _, p := range smokeProblems(out, smokeInterval) {
		t.Error(p)
	}
}

// The bounds themselves: a round like those measured passes, and each
// way a takeover goes wrong fails.
func TestSmokeBounds(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	good := map[string]outcome{
		Hung:        {Outage: ms(110), Moved: ms(115), ARPRounds: 60, ARPAnswered: 2},
		PowerOff:    {Outage: ms(7), Moved: ms(8), ARPRounds: 10, ARPAnswered: 2},
		GiveBack:    {Outage: ms(1.9), Moved: ms(178), ARPRounds: 260, ARPAnswered: 260, Dual: ms(500), DualRounds: 250},
		Planned:     {Outage: ms(1.4), Moved: -1, ARPRounds: 650, ARPAnswered: 650},
		PlannedAway: {Outage: ms(4.1), Moved: ms(505), ARPRounds: 260, ARPAnswered: 260},
		Killed:      {Outage: ms(0), Moved: -1, ARPRounds: 950, ARPAnswered: 950},
	}
	if p := smokeProblems(good, smokeInterval); len(p) > 0 {
		t.Errorf("a good round fails: %v", p)
	}
	bad := []struct {
		name string
		sc   string
		o    outcome
	}{
		{"takeover 5 s late", Hung, outcome{Outage: ms(5000), Moved: ms(5005), ARPRounds: 100, ARPAnswered: 100}},
		{"hung primary taken at the timeout", Hung, outcome{Outage: ms(300), Moved: ms(305), ARPRounds: 100, ARPAnswered: 100}},
		{"carrier loss ignored", PowerOff, outcome{Outage: ms(130), Moved: ms(135), ARPRounds: 60, ARPAnswered: 2}},
		{"taken at the goodbye with server1 up", Planned, outcome{Outage: ms(1.5), Moved: ms(1.6), ARPRounds: 100, ARPAnswered: 100, Dual: ms(990), DualRounds: 99}},
		{"taken at the timeout after a kill", Killed, outcome{Outage: ms(0), Moved: ms(301), ARPRounds: 100, ARPAnswered: 100, Dual: ms(700), DualRounds: 70}},
		{"planned stop drops the client", Planned, outcome{Outage: ms(300), Moved: -1, ARPRounds: 100, ARPAnswered: 100}},
		{"host gone, the goodbye forgotten", PlannedAway, outcome{Outage: ms(290), Moved: ms(790), ARPRounds: 100, ARPAnswered: 100}},
		{"no re-announce after give-back", GiveBack, outcome{Outage: ms(4000), Moved: ms(4600), ARPRounds: 2000, ARPAnswered: 2000}},
		{"the ARP watch heard nothing", Killed, outcome{Outage: ms(0), Moved: -1, ARPRounds: 950}},
		{"a hung primary given the address back", Hung, outcome{Outage: ms(200), Moved: ms(115), After: ms(200), ARPRounds: 100, ARPAnswered: 100}},
		{"two owners with server1 powered off", PowerOff, outcome{Outage: ms(7), Moved: ms(8), ARPRounds: 10, ARPAnswered: 3, Dual: ms(2), DualRounds: 1}},
	}
	for _, b := range bad {
		round := map[string]outcome{}
		for sc, o := range good {
			round[sc] = o
		}
		round[b.sc] = b.o
		if p := smokeProblems(round, smokeInterval); len(p) == 0 {
			t.Errorf("%s: passes", b.name)
		}
	}
	delete(good, Planned)
	if p := smokeProblems(good, smokeInterval); len(p) == 0 {
		t.Error("a round without a planned stop passes")
	}
}

// One short round of each three-server configuration: ipfailover without
// and with the arbiter (skipped without etcd), keepalived when installed
// (the test installs nothing). The arbiter's round fails when a standby
// cut from the primary takes its address while the primary renews.
func TestSmokeCluster(t *testing.T) {
	lab.Require(t)
	bin := t.TempDir()
	if err := buildDaemons(bin); err != nil {
		t.Fatal(err)
	}
	for _, c := range []clusterConfig{ipfailoverCluster{bin: bin}, ipfailoverCluster{bin: bin, arbiter: true}, keepalivedCluster{}} {
		t.Run(c.Name(), func(t *testing.T) {
			if c.Etcd() {
				lab.RequireEtcd(t)
			}
			if _, ok := c.(keepalivedCluster); ok {
				if _, err := exec.LookPath("keepalived"); err != nil {
					t.Skip("skipped: keepalived is not installed (make bench installs it)")
				}
			}
			out, err := clusterSmokeRound(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range clusterScenarios {
				o := out[sc]
				t.Logf("%s: outage %v, server2 answered after %v (then unanswered %v at most, %d answers from another); two MACs answered %d of %d ARP rounds (%v)",
					sc, o.Outage, o.Moved, o.After, o.Others, o.DualRounds, o.ARPRounds, o.Dual)
			}
			for _, p := range clusterSmokeProblems(c, out, smokeInterval) {
				t.Error(p)
			}
		})
	}
}

// The three-server bounds: rounds like those measured pass, and each way
// a takeover goes wrong fails.
func TestClusterSmokeBounds(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	noArbiter, arbiter, vrrp := ipfailoverCluster{}, ipfailoverCluster{arbiter: true}, keepalivedCluster{}
	good := map[clusterConfig]map[string]outcome{
		noArbiter: {
			PowerOff:  {Outage: ms(105), Moved: ms(105), ARPRounds: 60, ARPAnswered: 3},
			Hung:      {Outage: ms(137), Moved: ms(142), ARPRounds: 70, ARPAnswered: 3},
			Partition: {Outage: ms(18), Moved: ms(86), ARPRounds: 2400, ARPAnswered: 2400, Dual: ms(4558), DualRounds: 2246},
		},
		arbiter: {
			PowerOff:  {Outage: ms(3600), Moved: ms(3600), ARPRounds: 1800, ARPAnswered: 3},
			Hung:      {Outage: ms(3700), Moved: ms(3710), ARPRounds: 1850, ARPAnswered: 3},
			Partition: {Outage: ms(2), Moved: -1, ARPRounds: 2400, ARPAnswered: 2400},
		},
		vrrp: {
			PowerOff:  {Outage: ms(322), Moved: ms(322), ARPRounds: 160, ARPAnswered: 3},
			Hung:      {Outage: ms(256), Moved: ms(266), ARPRounds: 130, ARPAnswered: 3},
			Partition: {Outage: ms(9), Moved: ms(315), ARPRounds: 2400, ARPAnswered: 2400, Dual: ms(4308), DualRounds: 2128},
		},
	}
	for c, round := range good {
		if p := clusterSmokeProblems(c, round, smokeInterval); len(p) > 0 {
			t.Errorf("%s: a good round fails: %v", c.Name(), p)
		}
	}
	bad := []struct {
		name string
		c    clusterConfig
		sc   string
		o    outcome
	}{
		{"the arbiter's standby takes over a live primary", arbiter, Partition, outcome{Outage: ms(20), Moved: ms(80), ARPRounds: 2400, ARPAnswered: 2400, Dual: ms(4500), DualRounds: 2200}},
		{"two owners in the arbiter's partition", arbiter, Partition, outcome{Outage: ms(2), Moved: -1, ARPRounds: 2400, ARPAnswered: 2400, Dual: ms(4), DualRounds: 2}},
		{"the arbiter's partition never heals", arbiter, Partition, outcome{Outage: ms(2), Moved: -1, ARPRounds: 2400, ARPAnswered: 2400, Restarted: true}},
		{"a dead primary taken after two leases", arbiter, PowerOff, outcome{Outage: ms(6500), Moved: ms(6500), ARPRounds: 3000, ARPAnswered: 3}},
		{"no arbiter, taken at the timeout and later", noArbiter, Hung, outcome{Outage: ms(500), Moved: ms(505), ARPRounds: 250, ARPAnswered: 3}},
		{"server3 took over instead", noArbiter, PowerOff, outcome{Outage: ms(105), Moved: -1, ARPRounds: 60, ARPAnswered: 3}},
		{"a takeover undone", noArbiter, Hung, outcome{Outage: ms(300), Moved: ms(140), After: ms(300), ARPRounds: 150, ARPAnswered: 3}},
		{"two owners with server1 powered off", noArbiter, PowerOff, outcome{Outage: ms(105), Moved: ms(105), ARPRounds: 60, ARPAnswered: 3, Dual: ms(2), DualRounds: 1}},
		{"keepalived slower than its master-down interval", vrrp, PowerOff, outcome{Outage: ms(900), Moved: ms(900), ARPRounds: 450, ARPAnswered: 3}},
		{"the ARP watch heard nothing", vrrp, Partition, outcome{Outage: ms(9), Moved: ms(315), ARPRounds: 2400}},
	}
	for _, b := range bad {
		round := map[string]outcome{}
		for sc, o := range good[b.c] {
			round[sc] = o
		}
		round[b.sc] = b.o
		if p := clusterSmokeProblems(b.c, round, smokeInterval); len(p) == 0 {
			t.Errorf("%s: passes", b.name)
		}
	}
	round := good[arbiter]
	delete(round, Hung)
	if p := clusterSmokeProblems(arbiter, round, smokeInterval); len(p) == 0 {
		t.Error("a round without the hung primary passes")
	}
}
