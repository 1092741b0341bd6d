package main

import (
	"fmt"
	"time"
)

// smokeInterval is the heartbeat interval of the smoke round: short, so
// the round takes seconds, and long enough that a busy machine's delays
// stay well inside one interval.
const smokeInterval = 100 * time.Millisecond

// smokeSlack is what a busy machine (2 cores, other tests running, the
// probe under the race detector) may add to a takeover's outage: late
// timers and scheduling of the daemons and the probe.
const smokeSlack = 150 * time.Millisecond

// smokeRound runs one round of d at smokeInterval.
func smokeRound(d daemon) (map[string]outcome, error) {
	var out map[string]outcome
	err := run("smoke", func(s *scope) { out = round(s, d, smokeInterval) })
	return out, err
}

// smokeProblems says where a round at interval is out of the bounds that
// the detection timeout (deadCount intervals) sets:
//   - hung primary: its heartbeat is late on every link an interval and a
//     quarter after the last one, which came up to an interval before the
//     hang; its host answers none of the four probes (1 ms apart at this
//     interval), and an eighth of the interval passes with no carrier
//     loss told on their links, so the outage is within [interval/4,
//     interval*5/4] plus 4 ms, interval/8 and the reaction. Longer than that plus smokeSlack means the
//     probes did not decide (a takeover at the timeout, or later).
//   - power off: server2's end of the private cable loses its carrier,
//     failoverd probes at once, and nothing answers: the outage stays
//     under an interval (waiting for a late heartbeat could not).
//   - planned stop, host stays up: server1 keeps its own address, so
//     failoverd takes nothing (it waits for the address to stop
//     answering): server2 never answers and no ARP round has two owners.
//   - planned stop, host goes away: failoverd takes over once the
//     address has stopped answering for sixteen questions at the
//     suspicion's pace (a thirtieth of the timeout each: the primary's
//     MAC answered in the run, so three lost answers must not free it),
//     so the outage (from the cut) stays under seventeen of them and a
//     third of the slack (waiting for the timeout would show more); never
//     two owners.
//   - killed on a live host: as the planned stop with the host up.
//   - give-back: coordinated (release, then heartbeatd re-announces), so
//     the client goes unanswered for milliseconds; without the
//     re-announce it waits for its ARP entry to go stale (seconds). The
//     outage must stay under an interval. (server1 answers for its own
//     address as soon as its cable is back, so two MACs may answer until
//     failoverd hears it and gives the address back: measured, not
//     bounded.)
//   - a takeover holds: server1 cannot answer, so after server2's first
//     answer the client is not left unanswered for an interval in the
//     timeout that follows (an address given back to a dead primary).
//   - the ARP watch: every scenario's rounds must have been answered by
//     someone (else the watch saw nothing, and no duplicate could show),
//     and none in the hung primary or the power off by two MACs: server1
//     cannot answer at all.
func smokeProblems(out map[string]outcome, interval time.Duration) []string {
	timeout := deadCount * interval
	var problems []string
	check := func(sc, what string, got, lo, hi time.Duration) {
		if got < lo || got > hi {
			problems = append(problems, fmt.Sprintf("%s: %s %v, want %v to %v (interval %v, timeout %v)", sc, what, got, lo, hi, interval, timeout))
		}
	}
	for _, sc := range scenarios {
		if _, ok := out[sc]; !ok {
			problems = append(problems, sc+": not measured")
		}
	}
	check(Hung, "outage", out[Hung].Outage, 0, interval*5/4+interval/8+4*time.Millisecond+smokeSlack)
	check(PowerOff, "outage", out[PowerOff].Outage, 0, interval)
	for _, sc := range []string{Planned, Killed} {
		check(sc, "outage", out[sc].Outage, 0, interval)
		if o, ok := out[sc]; ok && o.Moved >= 0 {
			problems = append(problems, fmt.Sprintf("%s: server2 answered after %v while server1 still held its address", sc, o.Moved))
		}
	}
	check(PlannedAway, "outage", out[PlannedAway].Outage, 0, 17*timeout/30+smokeSlack/3)
	check(GiveBack, "outage", out[GiveBack].Outage, 0, interval)
	for _, sc := range scenarios {
		if o, ok := out[sc]; ok && o.ARPAnswered == 0 {
			problems = append(problems, fmt.Sprintf("%s: none of the %d ARP rounds answered", sc, o.ARPRounds))
		}
	}
	for _, sc := range []string{Hung, PowerOff, PlannedAway} {
		if o := out[sc]; o.Moved >= 0 && (o.After > interval || o.Others > 0) {
			problems = append(problems, fmt.Sprintf("%s: the takeover did not hold: %v unanswered after server2's first answer, %d answers from server1", sc, o.After, o.Others))
		}
	}
	for _, sc := range []string{Hung, PowerOff, Planned, PlannedAway, Killed} {
		if n := out[sc].DualRounds; n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d ARP rounds answered by two MACs", sc, n))
		}
	}
	return problems
}
