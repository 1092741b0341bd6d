package failover

import (
	"fmt"
	"strings"
	"time"
)

// probing is the round of probes of the primary's host, and how the
// last one ended (the package doc's "Probing the primary's host").
type probing struct {
	on    bool
	since time.Time            // when the round began
	sent  map[string]int       // probes per link in this round
	first map[string]time.Time // the first probe per link in this round
	last  map[string]time.Time // the latest probe per link in this round
	// byCarrier: the round began at a carrier loss, not a late heartbeat.
	byCarrier bool
	// carrierRound: when the last round a carrier loss began did; one
	// such round per timeout, so that a flapping cable does not get a
	// try at every flap.
	carrierRound time.Time

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
	how   ProbeOutcome
	ended string
}

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
// interval and a quarter after the last one on any link, or, with a
// fixed timeout longer than the dead count's, as much later in
// proportion (an administrator who set a long timeout to ride out
// stalls gets probes as patient). Zero: never heard.
func (m *Machine) lateAt() time.Time {
	ref := m.heardRef()
	if ref.IsZero() {
		return ref
	}
	late := m.peerInterval + m.peerInterval/4
	if m.p.Timeout > 0 {
		late = max(late, m.p.Timeout*5/time.Duration(4*m.p.DeadCount))
	}
	return ref.Add(late)
}

// answerWait is how long the last probe on a link is given for its
// answer: a spacing, and 1 ms at least.
func (m *Machine) answerWait() time.Duration { return max(m.ProbeSpacing(), time.Millisecond) }

// mayProbe says whether a round could run in this state.
func (m *Machine) mayProbe() bool {
	return m.p.Confirm && m.p.Ask && m.hold.idle() && (m.state == Standby || m.state == Degraded) && !m.heardRef().IsZero()
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
	if !now.Before(m.lateAt()) {
		return true
	}
	lost := m.probe.carrierAt
	return !lost.IsZero() && !lost.Add(m.carrierGrace()).Before(m.heardRef()) && m.carrierMayProbe(now)
}

// carrierGrace is how long after a carrier loss a heartbeat read is
// taken for one sent before it: the loss and the heartbeats a dead
// primary sent a moment before reach the machine from two goroutines,
// in either order. An eighth of the primary's interval: its next
// heartbeat, if it lives, comes a whole interval later.
func (m *Machine) carrierGrace() time.Duration { return m.peerInterval / 8 }

// heardInRound says a heartbeat came since the round of probes began:
// it ends the round. For a round a carrier loss began, not one read
// within carrierGrace of it.
func (m *Machine) heardInRound() bool {
	pr := &m.probe
	if pr.byCarrier {
		return m.heardSince(pr.since.Add(m.carrierGrace()))
	}
	return m.heardSince(pr.since)
}

// carrierMayProbe: a carrier loss may start a round if none did in the
// last timeout.
func (m *Machine) carrierMayProbe(now time.Time) bool {
	cr := m.probe.carrierRound
	return cr.IsZero() || now.Sub(cr) >= m.timeout()
}

// updateProbing starts or ends the round after an event.
func (m *Machine) updateProbing(now time.Time) {
	pr := &m.probe
	if pr.on && (!m.mayProbe() || m.heardInRound()) {
		pr.on = false // a heartbeat, or the state moved on: nothing to confirm
		pr.how, pr.ended = ProbeHeard, "a heartbeat came"
		if !m.heardInRound() {
			pr.how, pr.ended = ProbeMovedOn, "the state is "+string(m.state)+" now"
		}
	}
	if !pr.on && m.wantProbe(now) {
		pr.on, pr.since = true, now
		pr.byCarrier = now.Before(m.lateAt())
		if pr.byCarrier {
			pr.carrierRound = now
		}
		clear(pr.sent)
		clear(pr.first)
		clear(pr.last)
	}
}

// probing returns the links to probe now (each once); nil when no round
// wants probes (told by Probe). A link without carrier is not among
// them: nothing sent there can be answered.
func (m *Machine) probing() []string {
	if !m.probe.on {
		return nil
	}
	var out []string
	for _, n := range m.p.Links {
		if !m.links[n].NoCarrier && m.probe.sent[n] < m.probes() {
			out = append(out, n)
		}
	}
	return out
}

// probed counts a probe: one of this round's (sent since it began) on a
// link that had carrier from before it was sent.
func (m *Machine) probed(e Probed) []Action {
	pr := &m.probe
	l := m.links[e.Link]
	sent := sentAt(e.Sent, e.At)
	if !pr.on || l == nil || sent.Before(pr.since) || !l.litSince(sent) {
		return nil
	}
	if pr.sent[e.Link] == 0 {
		pr.first[e.Link] = e.At
	}
	pr.sent[e.Link]++
	pr.last[e.Link] = e.At
	return m.evaluate(e.At)
}

// probeAnswered ends the round: the primary's host lives.
func (m *Machine) probeAnswered(e ProbeAnswer) []Action {
	pr := &m.probe
	if !pr.on && m.state == Acquiring && pr.how == ProbeConfirmed && !e.At.Before(pr.since) {
		// An answer to the round that confirmed the takeover, reported
		// after the decision (read late): the host lives. It counts as
		// an answer for the addresses, so that the takeover stops
		// before it adds anything (JobDone.Answered: a conflict).
		m.ask.last = Answered{At: later(e.At, m.since), Addr: "the primary's own address on " + e.Link, MAC: e.MAC}
		m.ask.unanswered = 0
		m.ask.primed = m.primaryMAC(e.MAC)
		return nil
	}
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
	if l.NoCarrier == e.Up {
		// A change: what was sent on the link before it may have gone
		// into the dark, so it counts for nothing. A carrier back is
		// news to ask about, never a confirmation: the link's probes
		// start again, as do the questions if the addresses are there.
		l.carrierAt = e.At
		delete(m.probe.sent, e.Link)
		delete(m.probe.first, e.Link)
		delete(m.probe.last, e.Link)
		if m.p.addrLink(e.Link) {
			m.ask.unanswered = 0
		}
	}
	if l.NoCarrier && e.Up && m.state == Active && m.p.Ask {
		// A cable back may be the primary back, answering for its
		// addresses at once where its next heartbeat may be an interval
		// away: ask, for a hold-down, as after a takeover, so that two
		// hosts answer for milliseconds, not until that heartbeat. At
		// first at the probes' pace: the switch may not forward yet.
		m.ask.tookAt, m.ask.afterTake, m.ask.carrierBack = e.At, true, e.At
	}
	l.NoCarrier = !e.Up
	return m.evaluate(e.At)
}

// confirmedAt is when the round confirms the primary gone, if nothing
// answers before: every link has its probes, the first of them a whole
// round's spacing ago and the last an answer's wait ago. Zero while some
// link lacks its probes, or when every link is without carrier: a host
// whose own links are all dark learns nothing of the primary from
// silence, and clients could not reach it either (the timeout decides,
// as without probes).
func (m *Machine) confirmedAt() time.Time {
	pr := &m.probe
	if !pr.on {
		return time.Time{}
	}
	var at time.Time
	k := m.probes()
	lit := false
	for _, n := range m.p.Links {
		l := m.links[n]
		if l.NoCarrier {
			continue // nothing can answer there, and nothing sent there counts
		}
		if pr.sent[n] < k {
			return time.Time{}
		}
		lit = true
		at = later(at, later(pr.first[n].Add(time.Duration(k)*m.ProbeSpacing()), pr.last[n].Add(m.answerWait())))
		if l.carrierAt.After(pr.since) {
			// Its carrier came back in this round: the path (a switch
			// port) may not forward yet, so its probes get the
			// questions' pace to be answered, not the probes'.
			at = later(at, l.carrierAt.Add(m.slow()))
		}
	}
	if !lit {
		return time.Time{}
	}
	return at
}

// incompleteAt is when a round that cannot confirm ends (a link that
// cannot be probed, or only dark links): a third of the timeout, or three
// times the probes' length if that is longer, so that an asker a busy
// machine delays still gets its probes out. Until then the questions go
// at the probes' pace; after, the suspicion's.
func (m *Machine) incompleteAt() time.Time {
	if !m.probe.on {
		return time.Time{}
	}
	return m.probe.since.Add(max(m.timeout()/3, 3*(time.Duration(m.probes())*m.ProbeSpacing()+m.answerWait())))
}

// confirmed decides for a round that went unanswered: the takeover,
// by the usual rule.
func (m *Machine) confirmed(now time.Time) ([]Action, bool) {
	if m.probe.on && m.heardInRound() {
		// A heartbeat ends the round (updateProbing, after this event),
		// also one that came after its confirmation time but before
		// the tick that would have decided: nothing is taken on it.
		return nil, false
	}
	at := m.confirmedAt()
	if at.IsZero() || now.Before(at) {
		if end := m.incompleteAt(); !end.IsZero() && !now.Before(end) {
			m.endRound(now)
			m.probe.how, m.probe.ended = ProbeIncomplete, "not every link could be probed, or none has carrier: the timeout decides"
		}
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
		if at := m.confirmedAt(); !at.IsZero() {
			return at
		}
		return m.incompleteAt()
	}
	if !m.mayProbe() || m.probedThisSilence() {
		return time.Time{}
	}
	return m.lateAt()
}
