package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Scenarios measured in a round.
const (
	Hung        = "hung primary"
	PowerOff    = "power off"
	GiveBack    = "give-back"
	Planned     = "planned stop, host stays up"
	PlannedAway = "planned stop, host goes away"
	Killed      = "daemon killed, host stays up"
)

var scenarios = []string{Hung, PowerOff, GiveBack, Planned, PlannedAway, Killed}

const (
	svcPort    = 7
	probeEvery = time.Millisecond
	// arpEvery is how often the client asks who has the address: the
	// resolution of the time two servers answer at once.
	arpEvery = 2 * time.Millisecond
	// hostAway is how long after its daemon stopped a host going down
	// (a shutdown, a reboot) takes its links with it.
	hostAway = 500 * time.Millisecond
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

// client is what the client on the bridge measures with: the UDP probe
// (who serves it, the outage) and the ARP watch (who answers for the
// address: two at once is a duplicate).
type client struct {
	probe *lab.Probe
	arp   *lab.ARPWatch
}

// startClient starts both in ns, the client's namespace (its device on
// the public bridge is eth0, in the pair's lab as in the cluster's).
func startClient(s *scope, ns *lab.NS) client {
	return client{
		probe: lab.StartProbe(s, ns, vip, svcPort, probeEvery),
		arp:   lab.StartARPWatch(s, ns, "eth0", vip, arpEvery),
	}
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
	// server that should answer after it (-1: none within the scenario).
	// When both servers answer for a while (ipfailover's planned stop
	// keeps server1's own address), the outage is near zero whether or
	// not failover was quick; Moved is not.
	Moved time.Duration
	// Dual is how long two or more MACs answered ARP for the address at
	// once (the ARP rounds they did, summed); DualRounds is how many
	// rounds.
	Dual       time.Duration
	DualRounds int
	// ARPRounds is how many times the client asked who has the address,
	// ARPAnswered how many of those anyone answered.
	ARPRounds, ARPAnswered int
	// After is the longest time the client went unanswered from the
	// mover's first answer to the end of the scenario's watch (a
	// detection timeout and 100 ms after it): a move that holds leaves
	// it near the probe's spacing; one undone at once (the address
	// given back to a dead primary) does not.
	After time.Duration
	// Others is how many answers came from another server than the
	// mover after its first answer: a move that did not stick.
	Others int `json:",omitempty"`
	// Restarted: the pair did not come back by itself after the event
	// (the hung primary's traffic flowing again), so the bench restarted
	// server1's daemon.
	Restarted bool `json:",omitempty"`
	// Answered is who answered the client from the event on, each run of
	// answers from one server once (server1, server2, server1: a move and
	// a give-back); the three-server rounds only.
	Answered []string `json:",omitempty"`
	// Stranded: when the cluster was found not back (Restarted), the
	// address was on server1 alone, but the client's neighbour entry for
	// it still named another server's MAC (the three-server rounds only).
	Stranded bool `json:",omitempty"`
}

// measure is what the client saw from the event at from until now, mover
// being the server that should answer after it.
func measure(c client, from time.Time, mover string) outcome {
	now := time.Now()
	o := outcome{Moved: -1}
	o.Outage, _ = c.probe.LongestGap(from, now)
	for _, a := range c.probe.Replies() {
		if a.From == mover && a.At.After(from) {
			o.Moved = a.At.Sub(from)
			break
		}
	}
	if o.Moved >= 0 {
		moved := from.Add(o.Moved)
		o.After, _ = c.probe.LongestGap(moved, now)
		for _, a := range c.probe.Replies() {
			if a.At.After(moved) && !a.At.After(now) && a.From != mover {
				o.Others++
			}
		}
	}
	o.DualRounds, o.Dual = c.arp.Dual(from, now)
	for _, r := range c.arp.Rounds() {
		if !r.At.Before(from) && r.At.Before(now) {
			o.ARPRounds++
			if len(r.MACs) > 0 {
				o.ARPAnswered++
			}
		}
	}
	return o
}

// answered is who answered c from from until now, each run of answers
// from one server once.
func answered(c client, from time.Time) []string {
	var out []string
	for _, a := range c.probe.Replies() {
		if a.At.After(from) && (len(out) == 0 || out[len(out)-1] != a.From) {
			out = append(out, a.From)
		}
	}
	return out
}

// outage waits until the client is answered by want, watches for hold
// more (a move that is undone shows), and returns what the client saw
// since from.
func outage(s *scope, c client, from time.Time, want string, limit, hold time.Duration) outcome {
	if !waitFor(limit, func() bool { return c.probe.Last() == want }) {
		s.Fatalf("the client was not answered by %s within %v (last: %q)", want, limit, c.probe.Last())
	}
	time.Sleep(hold)
	return measure(c, from, want)
}

// watch returns what the client saw in the window d from the event at
// from: for an event after which either server may rightly answer.
func watch(c client, from time.Time, d time.Duration, mover string) outcome {
	time.Sleep(time.Until(from.Add(d)))
	return measure(c, from, mover)
}

// round runs the scenarios once on a fresh lab:
//   - power off: server1's links go down at once (its switch port and
//     server2's end of the private cable lose their carrier); server2
//     must answer;
//   - give-back: the links back up; server1 must answer again, and
//     server2 let go;
//   - hung primary: nothing enters or leaves server1's links (nftables
//     netdev ingress and egress), which keep their carrier, as a host
//     whose kernel stopped; server2 must answer. Then its traffic flows
//     again and the pair settles (not measured);
//   - planned, host stays up: server1's daemon stopped with SIGTERM,
//     watched for quiet (server1 still up, a daemon that holds back and
//     one that takes over may both be right); then the daemon started
//     again;
//   - planned, host goes away: SIGTERM, and server1's cables cut
//     hostAway after the daemon exited; server2 must answer. Then the
//     cables back and the daemon started again;
//   - killed: server1's daemon killed (-9) on a live host, watched for
//     quiet: the right result is no takeover, as server1 still answers.
func round(s *scope, d daemon, interval time.Duration) map[string]outcome {
	p := lab.NewPair(s)
	lab.Serve(s, p.S1, svcPort, "server1")
	lab.Serve(s, p.S2, svcPort, "server2")
	c := startClient(s, p.Client)
	r := d.Start(s, p, interval, nil)
	settle(s, r, c.probe, interval, "at start")
	detect := deadCount * interval
	limit := 10*time.Second + 10*detect
	// quiet is how long a stop or a kill on a live host is watched: a
	// daemon that takes over on silence does so within a timeout and its
	// reaction (ucarp's slowest planned stop so far: 1.7 timeouts).
	quiet := 2*detect + time.Second
	// hold is how long a move is watched after the client first saw it:
	// a detection timeout, in which the old owner's links still count
	// as heard, and 100 ms.
	hold := detect + 100*time.Millisecond
	out := map[string]outcome{}

	// A random phase within the interval: the cut is as likely just
	// after a heartbeat (advertisement) as just before the next one.
	phase := func() { time.Sleep(rand.N(interval)) }

	phase()
	off := time.Now()
	p.PowerOff()
	out[PowerOff] = outage(s, c, off, "server2", limit, hold)

	back := time.Now()
	p.PowerOn()
	// Measured once server2 has let go as well: until then both may
	// answer. A pair that never gets there fails in settle below.
	waitFor(limit+10*time.Second, r.stable)
	out[GiveBack] = outage(s, c, back, "server1", limit+10*time.Second, hold)
	settle(s, r, c.probe, interval, "after the give-back")

	phase()
	hung := time.Now()
	p.Hang(s)
	o := outage(s, c, hung, "server2", limit, hold)
	p.Unhang()
	// Both servers held the address while server1 was cut off; a daemon
	// that never says so again leaves the client on server2, which let
	// go: restarted then, as an administrator would.
	if !waitFor(5*time.Second+3*detect, func() bool { return r.stable() && c.probe.Last() == "server1" }) {
		o.Restarted = true
		logf("%s %v: the pair did not come back by itself after the hung primary; restarting server1's daemon", d.Name(), interval)
		r.signalPrimary(syscall.SIGTERM) // -9 would leave keepalived's children
		r.restartPrimary(s)
	}
	out[Hung] = o
	settle(s, r, c.probe, interval, "after the hung primary came back")

	phase()
	stop := time.Now()
	r.signalPrimary(syscall.SIGTERM)
	out[Planned] = watch(c, stop, quiet, "server2")
	r.restartPrimary(s)
	settle(s, r, c.probe, interval, "after the daemon started again")

	phase()
	stop = time.Now()
	r.signalPrimary(syscall.SIGTERM)
	r.awaitPrimaryExit(s)
	time.Sleep(hostAway)
	p.CutPrivate()
	p.CutPublic()
	out[PlannedAway] = outage(s, c, stop, "server2", limit, hold)
	p.RestorePrivate()
	p.RestorePublic()
	r.restartPrimary(s)
	settle(s, r, c.probe, interval, "after the host came back")

	phase()
	kill := time.Now()
	r.signalPrimary(syscall.SIGKILL)
	out[Killed] = watch(c, kill, quiet, "server2")
	return out
}

// fmtRound writes a round's outages and dual-answer times, scenario by
// scenario.
func fmtRound(out map[string]outcome) string {
	var parts []string
	for _, sc := range scenarios {
		o := out[sc]
		parts = append(parts, fmt.Sprintf("%s %s ms (dual %s ms, %d rounds)", sc, fmtMS(o.Outage), fmtMS(o.Dual), o.DualRounds))
	}
	return strings.Join(parts, "; ")
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}
