package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Scenarios measured in a round.
const (
	Unplanned = "unplanned failure"
	Planned   = "planned stop"
	GiveBack  = "give-back"
)

var scenarios = []string{Unplanned, Planned, GiveBack}

const (
	svcPort    = 7
	probeEvery = time.Millisecond
)

// waitFor polls cond every millisecond.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return cond()
}

// settle waits until the pair is stable: server1 active, server2 standing
// by, the client answered by server1.
func settle(s *scope, r *running, probe *lab.Probe, interval time.Duration, what string) {
	limit := 10*time.Second + 10*interval
	if !waitFor(limit, func() bool { return r.stable() && probe.Last() == "server1" }) {
		s.Fatalf("not stable %s within %v (client last answered by %q)", what, limit, probe.Last())
	}
	time.Sleep(5 * interval) // a few advertisements in the stable state
}

// outcome is one scenario as the client saw it.
type outcome struct {
	// Outage is the longest time the client went unanswered: what the
	// benchmark reports.
	Outage time.Duration
	// Moved is the time from the event to the first answer from the
	// server that should answer after it. When both servers answer for a
	// while (ipfailover's planned stop keeps server1's own address), the
	// outage is near zero whether or not failover was quick; Moved is not.
	Moved time.Duration
}

// outage waits until the client is answered by want and returns what the
// client saw since from.
func outage(s *scope, probe *lab.Probe, from time.Time, want string, limit time.Duration) outcome {
	if !waitFor(limit, func() bool { return probe.Last() == want }) {
		s.Fatalf("the client was not answered by %s within %v (last: %q)", want, limit, probe.Last())
	}
	time.Sleep(20 * time.Millisecond) // let answers settle before measuring
	var o outcome
	o.Outage, _ = probe.LongestGap(from, time.Now())
	for _, a := range probe.Answers() {
		if a.From == want && a.At.After(from) {
			o.Moved = a.At.Sub(from)
			break
		}
	}
	return o
}

// round runs the three scenarios once on a fresh lab:
//   - unplanned: both of server1's cables cut; server2 must answer;
//   - give-back: the cables back; server1 must answer again;
//   - planned: server1's daemon stopped with SIGTERM; server2 must answer.
func round(s *scope, d daemon, interval time.Duration) map[string]outcome {
	p := lab.NewPair(s)
	lab.Serve(s, p.S1, svcPort, "server1")
	lab.Serve(s, p.S2, svcPort, "server2")
	probe := lab.StartProbe(s, p.Client, vip, svcPort, probeEvery)
	r := d.Start(s, p, interval, nil)
	settle(s, r, probe, interval, "at start")
	detect := deadCount * interval
	limit := 10*time.Second + 10*detect
	out := map[string]outcome{}

	// A random phase within the interval: the cut is as likely just
	// after a heartbeat (advertisement) as just before the next one.
	phase := func() { time.Sleep(rand.N(interval)) }

	phase()
	cut := time.Now()
	p.CutPrivate()
	p.CutPublic()
	out[Unplanned] = outage(s, probe, cut, "server2", limit)

	back := time.Now()
	p.RestorePrivate()
	p.RestorePublic()
	out[GiveBack] = outage(s, probe, back, "server1", limit+10*time.Second)
	settle(s, r, probe, interval, "after the give-back")

	phase()
	stop := time.Now()
	r.stopPrimary()
	out[Planned] = outage(s, probe, stop, "server2", limit)
	return out
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}
