package main

import (
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
