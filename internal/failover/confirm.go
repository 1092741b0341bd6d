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
	since time.Time             // when the round began
	links map[string]linkProbes // this round's probes, per link
	// byCarrier: the round began at a carrier loss, not a late heartbeat.
	byCarrier bool
	// carrierRound: when the last round a carrier loss began did; one
	// such round per timeout, so that a flapping cable does not get a
	// try at every flap.
	carrierRound time.Time

	// The last round that ended without a takeover (zero doneSince:
	// none): no other starts while the primary stays unheard since
	// doneRef, unless a carrier is lost after that round began
	// (doneSince): a loss it may not have seen.
	doneRef   time.Time
	doneSince time.Time
	// carrierAt: the latest carrier loss on a link.
	carrierAt time.Time
	// how and ended say how the last round ended (ProbeRound).
	how   ProbeOutcome
	ended string
}

// linkProbes are a round's probes on one link.
type linkProbes struct {
	sent        int       // how many
	first, last time.Time // when the first and the latest went out
}

func newProbing() probing { return probing{links: map[string]linkProbes{}} }

// begin starts a round at now; byCarrier: a carrier loss began it.
func (p *probing) begin(now time.Time, byCarrier bool) {
	p.on, p.since, p.byCarrier = true, now, byCarrier
	if byCarrier {
		p.carrierRound = now
	}
	clear(p.links)
}

// stop ends the round, as how says, for why.
func (p *probing) stop(how ProbeOutcome, why string) {
	p.on, p.how, p.ended = false, how, why
}

// endRound ends the round, which went unanswered or was answered with
// the primary last heard at heardRef: no other starts in this silence.
func (p *probing) endRound(heardRef time.Time, how ProbeOutcome, why string) {
	p.stop(how, why)
	p.doneRef, p.doneSince = heardRef, p.since
}

// confirmedBy says the last round, over, confirmed the primary gone,
// and an answer at at is to one of its probes.
func (p *probing) confirmedBy(at time.Time) bool {
	return !p.on && p.how == ProbeConfirmed && !at.Before(p.since)
}

// lastEnd says how the last round ended.
func (p *probing) lastEnd() ProbeRound { return ProbeRound{How: p.how, Ended: p.ended} }

// probed counts a probe on link at at.
func (p *probing) probed(link string, at time.Time) {
	lp := p.links[link]
	if lp.sent == 0 {
		lp.first = at
	}
	lp.sent++
	lp.last = at
	p.links[link] = lp
}

// carrierLost records a carrier lost at at on some link.
func (p *probing) carrierLost(at time.Time) { p.carrierAt = at }

// carrierChanged forgets the round's probes on a link whose carrier
// changed: they may have gone into the dark.
func (p *probing) carrierChanged(link string) { delete(p.links, link) }

// doneThisSilence says a round ended with the primary unheard since
// heardRef, and no carrier lost since it began.
func (p *probing) doneThisSilence(heardRef time.Time) bool {
	return !p.doneSince.IsZero() && !heardRef.After(p.doneRef) && !p.carrierAt.After(p.doneSince)
}

// heardFrom is the time after which a heartbeat ends the round: its
// start, or grace after it for a round a carrier loss began.
func (p *probing) heardFrom(grace time.Duration) time.Time {
	if p.byCarrier {
		return p.since.Add(grace)
	}
	return p.since
}

// carrierMayStart: a carrier loss may start a round if none did in the
// last timeout.
func (p *probing) carrierMayStart(now time.Time, timeout time.Duration) bool {
	return p.carrierRound.IsZero() || now.Sub(p.carrierRound) >= timeout
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
func (m *Machine) probedThisSilence() bool { return m.probe.doneThisSilence(m.heardRef()) }

// wantProbe says whether a round should start at now.
func (m *Machine) wantProbe(now time.Time) bool {
	if !m.mayProbe() || m.probedThisSilence() || now.Before(m.hold.probesFrom(m.p.HoldDown)) {
		// Within a hold-down of a give-back the timeout decides: a
		// primary whose links flap must not move the addresses, and run
		// every hook, at every flap.
		return false
	}
	if !now.Before(m.lateAt()) {
		return true
	}
	lost := m.probe.carrierAt
	return !lost.IsZero() && !lost.Add(m.carrierGrace()).Before(m.heardRef()) && m.probe.carrierMayStart(now, m.timeout())
}

// carrierGrace is how late the machine may learn of a carrier change:
// the driver, netlink and the watch's goroutine take their time. So a
// heartbeat read within it after a carrier loss is taken for one sent
// before it (the loss and the heartbeats a dead primary sent a moment
// before reach the machine from two goroutines, in either order), and a
// probe or a question counts as unanswered only once it has passed
// with no loss told on its link. An eighth of the primary's interval:
// its next heartbeat, if it lives, comes a whole interval later.
func (m *Machine) carrierGrace() time.Duration { return m.peerInterval / 8 }

// heardInRound says a heartbeat came since the round of probes began:
// it ends the round. For a round a carrier loss began, not one read
// within carrierGrace of it.
func (m *Machine) heardInRound() bool { return m.heardSince(m.probe.heardFrom(m.carrierGrace())) }

// updateProbing starts or ends the round after an event.
func (m *Machine) updateProbing(now time.Time) {
	if m.probe.on && (!m.mayProbe() || m.heardInRound()) {
		// A heartbeat, or the state moved on: nothing to confirm.
		if m.heardInRound() {
			m.probe.stop(ProbeHeard, "a heartbeat came")
		} else {
			m.probe.stop(ProbeMovedOn, "the state is "+string(m.state)+" now")
		}
	}
	if !m.probe.on && m.wantProbe(now) {
		m.probe.begin(now, now.Before(m.lateAt()))
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
		if !m.links[n].NoCarrier && m.probe.links[n].sent < m.probes() {
			out = append(out, n)
		}
	}
	return out
}

// probed counts a probe: one of this round's (sent since it began) on a
// link that had carrier from before it was sent.
func (m *Machine) probed(e Probed) []Action {
	l := m.links[e.Link]
	sent := sentAt(e.Sent, e.At)
	if !m.probe.on || l == nil || sent.Before(m.probe.since) || !l.litSince(sent) {
		return nil
	}
	m.probe.probed(e.Link, e.At)
	return m.evaluate(e.At)
}

// probeAnswered ends the round: the primary's host lives.
func (m *Machine) probeAnswered(e ProbeAnswer) []Action {
	if m.state == Acquiring && m.probe.confirmedBy(e.At) {
		// An answer to the round that confirmed the takeover, reported
		// after the decision (read late): the host lives. It counts as
		// an answer for the addresses, so that the takeover stops
		// before it adds anything (JobDone.Answered: a conflict).
		primed, placed := m.primaryMAC(e.MAC)
		m.ask.record(Answered{At: later(e.At, m.since), Addr: "the primary's own address on " + e.Link, MAC: e.MAC}, primed, placed)
		return nil
	}
	if !m.probe.on || e.At.Before(m.probe.since) {
		return nil
	}
	m.probe.endRound(m.heardRef(), ProbeAnswered, fmt.Sprintf("the primary's host answered on %s (%s): it lives", e.Link, e.MAC))
	return m.evaluate(e.At)
}

// carrier records a link's carrier; a loss may start a round.
func (m *Machine) carrier(e Carrier) []Action {
	l, ok := m.links[e.Link]
	if !ok {
		return nil
	}
	if !l.NoCarrier && !e.Up {
		m.probe.carrierLost(e.At)
	}
	if l.NoCarrier == e.Up {
		// A change: what was sent on the link before it may have gone
		// into the dark, so it counts for nothing. A carrier back is
		// news to ask about, never a confirmation: the link's probes
		// start again, as do the questions if the addresses are there.
		l.carrierAt = e.At
		m.probe.carrierChanged(e.Link)
		if m.p.addrLink(e.Link) {
			m.ask.questionsLost()
		}
	}
	if l.NoCarrier && e.Up && m.state == Active && m.p.Ask {
		// A cable back may be the primary back, answering for its
		// addresses at once where its next heartbeat may be an interval
		// away: ask, for a hold-down, as after a takeover, so that two
		// hosts answer for milliseconds, not until that heartbeat. At
		// first at the probes' pace: the switch may not forward yet.
		m.ask.carrierBackAt(e.At)
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
	if !m.probe.on {
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
		lp := m.probe.links[n]
		if lp.sent < k {
			return time.Time{}
		}
		lit = true
		at = later(at, later(lp.first.Add(time.Duration(k)*m.ProbeSpacing()), lp.last.Add(m.answerWait())))
		if l.carrierAt.After(m.probe.since) {
			// Its carrier came back in this round: the path (a switch
			// port) may not forward yet, so its probes get the
			// questions' pace to be answered, not the probes'.
			at = later(at, l.carrierAt.Add(m.slow()))
		}
	}
	if !lit {
		return time.Time{}
	}
	// A carrier loss is told a moment late (the driver, netlink, the
	// watch's goroutine): a probe that went into a link already dark
	// must have its loss told before it counts. carrierGrace more.
	return at.Add(m.carrierGrace())
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
			m.probe.endRound(m.heardRef(), ProbeIncomplete, "not every link could be probed, or none has carrier: the timeout decides")
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
	reason := fmt.Sprintf("no heartbeat on any link %s, and the primary answered none of %d probes on %s",
		m.silentFor(now), m.probes(), strings.Join(links, " or "))
	acts := m.decide(reason, now) // while the round is on: the questions' window is its
	m.probe.endRound(m.heardRef(), ProbeConfirmed, "no answer: "+reason)
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
	return later(m.lateAt(), m.hold.probesFrom(m.p.HoldDown))
}
