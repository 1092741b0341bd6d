package failover

import (
	"fmt"
	"strings"
	"time"
)

// Faster than the timeout. A silence of the dead count's length is only
// evidence that the primary is gone; with Params.Confirm the machine asks
// the primary's host itself, whose kernel answers ARP (and neighbour
// solicitations) even when its user space is slow or its heartbeatd is
// gone:
//
//   - A heartbeat late on every link (one interval and a quarter since
//     the last on any link), or a link losing its carrier (a cable
//     straight to the primary goes dark the moment it loses power),
//     starts one round of probes: the caller probes the address the
//     primary's heartbeats come from on each link, as often as Asking
//     says, Probes times per link, and reports each (Probed; a link with
//     no carrier counts as probed, as nothing can answer there) and every
//     answer (ProbeAnswer). The questions for the addresses to take go
//     out with them.
//   - No answer on any link from Probes probes each, the last of them a
//     spacing ago: the host is gone, and the takeover starts now, by the
//     usual rule (decide: the addresses must be free, as at the timeout).
//   - Any answer, on any link, at any time in the round: the host lives.
//     The round ends and the usual rules apply (the timeout; a conflict
//     if heartbeats stay away while its address answers). One round per
//     silence: a new one needs a heartbeat in between, or a carrier
//     lost since the last round began (a host losing power may answer
//     on one link a moment before that link goes too), so that a live
//     host under loss is not probed until one round happens to lose
//     every answer.
//   - A heartbeat during the round ends it: nothing is taken.
//
// A link that cannot be probed (no address heard on it, the probe not
// sent) never reaches its count, so the round cannot confirm: the timeout
// decides, as without it.
type probing struct {
	on    bool
	since time.Time            // when the round began
	sent  map[string]int       // probes per link in this round
	first map[string]time.Time // the first probe per link in this round

	// The last round that ended without a takeover: no other starts
	// while the primary stays unheard since doneRef, unless a carrier
	// is lost after that round began (doneSince): a loss it may not
	// have seen.
	done      bool
	doneRef   time.Time
	doneSince time.Time
	// carrierAt: the latest carrier loss on a link.
	carrierAt time.Time
	// how and ended say how the last round ended (ProbeRound).
	how, ended string
}

// How a round of probes ended.
const (
	ProbeAnswered  = "answered"  // the primary's host answered: it lives
	ProbeConfirmed = "confirmed" // nothing answered: the takeover
	ProbeHeard     = "heard"     // a heartbeat came
	ProbeMovedOn   = "moved-on"  // the state moved on (a timeout, a job)
)

// Probed: the caller probed the primary on Link once, or found that the
// link has no carrier (nothing can answer there).
type Probed struct {
	At   time.Time
	Link string
}

// ProbeAnswer: the primary's host answered on Link.
type ProbeAnswer struct {
	At   time.Time
	Link string
	MAC  string
}

// Carrier: a link's carrier came (Up) or went.
type Carrier struct {
	At   time.Time
	Link string
	Up   bool
}

func (Probed) isEvent()      {}
func (ProbeAnswer) isEvent() {}
func (Carrier) isEvent()     {}

// Probe spacing bounds, and the default count.
const (
	minProbeSpacing = time.Millisecond
	maxProbeSpacing = 5 * time.Millisecond
	DefaultProbes   = 4
)

// probes is how many unanswered probes per link confirm the primary gone.
func (m *Machine) probes() int {
	if m.p.Probes > 0 {
		return m.p.Probes
	}
	return DefaultProbes
}

// ProbeSpacing is the time between probes: Params.ProbeSpacing, or a
// two-hundredth of the primary's interval from 1 ms to 5 ms.
func (m *Machine) ProbeSpacing() time.Duration {
	if m.p.ProbeSpacing > 0 {
		return m.p.ProbeSpacing
	}
	return min(max(m.peerInterval/200, minProbeSpacing), maxProbeSpacing)
}

// lateAt is when the primary's heartbeat is late on every link: an
// interval and a quarter after the last one on any link. Zero: never heard.
func (m *Machine) lateAt() time.Time {
	ref := m.heardRef()
	if ref.IsZero() {
		return ref
	}
	return ref.Add(m.peerInterval + m.peerInterval/4)
}

// mayProbe says whether a round could run in this state.
func (m *Machine) mayProbe() bool {
	return m.p.Confirm && m.p.Ask && m.running == NoJob && (m.state == Standby || m.state == Degraded) && !m.heardRef().IsZero()
}

// probedThisSilence says a round ended in this silence, with no carrier
// lost since.
func (m *Machine) probedThisSilence() bool {
	pr := &m.probe
	return pr.done && !m.heardRef().After(pr.doneRef) && !pr.carrierAt.After(pr.doneSince)
}

// wantProbe says whether a round should start at now.
func (m *Machine) wantProbe(now time.Time) bool {
	if !m.mayProbe() || m.probedThisSilence() {
		return false
	}
	lost := m.probe.carrierAt
	return !now.Before(m.lateAt()) || (!lost.IsZero() && !lost.Before(m.heardRef()))
}

// updateProbing starts or ends the round after an event.
func (m *Machine) updateProbing(now time.Time) {
	pr := &m.probe
	if pr.on && (!m.mayProbe() || m.heardSince(pr.since)) {
		pr.on = false // a heartbeat, or the state moved on: nothing to confirm
		pr.how, pr.ended = ProbeHeard, "a heartbeat came"
		if !m.heardSince(pr.since) {
			pr.how, pr.ended = ProbeMovedOn, "the state is "+string(m.state)+" now"
		}
	}
	if !pr.on && m.wantProbe(now) {
		pr.on, pr.since = true, now
		clear(pr.sent)
		clear(pr.first)
	}
}

// ProbeRound says whether a round of probes is on and, when not, how
// the last one ended: one of the Probe… outcomes, and in words.
func (m *Machine) ProbeRound() (on bool, how, ended string) {
	return m.probe.on, m.probe.how, m.probe.ended
}

// Probing returns the links to probe now (each once), with their
// carrier; nil when no round wants probes.
func (m *Machine) Probing() []Link {
	if !m.probe.on {
		return nil
	}
	var out []Link
	for _, n := range m.p.Links {
		if m.probe.sent[n] < m.probes() {
			out = append(out, *m.links[n])
		}
	}
	return out
}

// probed counts a probe.
func (m *Machine) probed(e Probed) []Action {
	pr := &m.probe
	if !pr.on || m.links[e.Link] == nil {
		return nil
	}
	if pr.sent[e.Link] == 0 {
		pr.first[e.Link] = e.At
	}
	pr.sent[e.Link]++
	return m.evaluate(e.At)
}

// probeAnswered ends the round: the primary's host lives.
func (m *Machine) probeAnswered(e ProbeAnswer) []Action {
	pr := &m.probe
	if !pr.on || e.At.Before(pr.since) {
		return nil
	}
	m.endRound(e.At)
	pr.how, pr.ended = ProbeAnswered, fmt.Sprintf("the primary's host answered on %s (%s): it lives", e.Link, e.MAC)
	return m.evaluate(e.At)
}

func (m *Machine) endRound(now time.Time) {
	pr := &m.probe
	pr.on, pr.done, pr.doneRef, pr.doneSince = false, true, m.heardRef(), pr.since
}

// carrier records a link's carrier; a loss may start a round.
func (m *Machine) carrier(e Carrier) []Action {
	l, ok := m.links[e.Link]
	if !ok {
		return nil
	}
	if !l.NoCarrier && !e.Up {
		m.probe.carrierAt = e.At
	}
	l.NoCarrier = !e.Up
	return m.evaluate(e.At)
}

// confirmedAt is when the round confirms the primary gone, if nothing
// answers before: a spacing after the last probe on the link probed
// last. Zero while some link lacks its probes.
func (m *Machine) confirmedAt() time.Time {
	pr := &m.probe
	if !pr.on {
		return time.Time{}
	}
	var at time.Time
	k := m.probes()
	for _, n := range m.p.Links {
		if pr.sent[n] < k {
			return time.Time{}
		}
		at = later(at, pr.first[n].Add(time.Duration(k)*m.ProbeSpacing()))
	}
	return at
}

// confirmed decides for a round that went unanswered: the takeover,
// by the usual rule.
func (m *Machine) confirmed(now time.Time) ([]Action, bool) {
	at := m.confirmedAt()
	if at.IsZero() || now.Before(at) {
		return nil, false
	}
	var links []string
	for _, n := range m.p.Links {
		if m.links[n].NoCarrier {
			n += " (no carrier)"
		}
		links = append(links, n)
	}
	reason := fmt.Sprintf("no heartbeat on any link for %v, and the primary answered none of %d probes on %s",
		now.Sub(m.heardRef()).Round(time.Millisecond), m.probes(), strings.Join(links, " or "))
	acts := m.decide(reason, now) // while the round is on: the questions' window is its
	m.endRound(now)
	m.probe.how, m.probe.ended = ProbeConfirmed, "no answer: "+reason
	return acts, true
}

// probeDeadline is the next time probing changes the decision: the
// round's start when heartbeats are late, its end when every link has
// its probes.
func (m *Machine) probeDeadline() time.Time {
	if m.probe.on {
		return m.confirmedAt()
	}
	if !m.mayProbe() || m.probedThisSilence() {
		return time.Time{}
	}
	return m.lateAt()
}
