package failover

import (
	"slices"
	"time"
)

// The actions that tell the caller how to ask and probe. Handle returns
// one whenever what it says changes, so that the caller keeps the last of
// each and reads no state of the machine to know what to send.

// said is what the machine last told the caller about asking and
// probing.
type said struct {
	every      time.Duration
	probeSince time.Time // when the round told begun began; zero: none is on
	probe      []string
	deadline   time.Time
	peer       time.Duration
}

// Each tell method says whether what it is given is news, and records
// it told.

func (s *said) tellEvery(every time.Duration) bool {
	if every == s.every {
		return false
	}
	s.every = every
	return true
}

// tellRound takes the round of probes on since since (not on: since is
// not looked at) and says whether the one told has ended and this one
// begun.
func (s *said) tellRound(on bool, since time.Time) (ended, begun bool) {
	if !on {
		since = time.Time{}
	}
	if since.Equal(s.probeSince) {
		return false, false
	}
	ended, begun = !s.probeSince.IsZero(), on
	s.probeSince = since
	return ended, begun
}

func (s *said) tellProbe(links []string) bool {
	if slices.Equal(links, s.probe) {
		return false
	}
	s.probe = links
	return true
}

func (s *said) tellDeadline(next time.Time, peer time.Duration) bool {
	if next.Equal(s.deadline) && peer == s.peer {
		return false
	}
	s.deadline, s.peer = next, peer
	return true
}

// orders returns the Ask, ProbeRound and Probe actions for what changed
// since the caller was last told.
func (m *Machine) orders() []Action {
	var out []Action
	if every := m.askEvery(); m.said.tellEvery(every) {
		out = append(out, Ask{Every: every})
	}
	ended, begun := m.said.tellRound(m.probe.on, m.probe.since)
	if ended {
		out = append(out, m.probe.lastEnd())
	}
	if begun {
		out = append(out, ProbeRound{On: true})
	}
	if links := m.probing(); m.said.tellProbe(links) {
		out = append(out, Probe{Links: links})
	}
	if next := m.nextDeadline(); m.said.tellDeadline(next, m.peerInterval) {
		out = append(out, Deadline{At: next, PeerInterval: m.peerInterval})
	}
	return out
}

// Status returns the machine's status at now.
func (m *Machine) Status(now time.Time) Status {
	st := Status{State: m.state, Since: m.since, Holding: m.holding(), Running: m.hold.running, Links: m.linkList(now),
		PeerInterval: m.peerInterval, Timeout: m.timeout(), AskWindow: m.askWindow(), Health: m.health.status(),
		Lit: m.lit(), CarrierGrace: m.carrierGrace()}
	if a, ok := m.answering(now); ok {
		st.Answering = &a
	}
	if m.yielding() {
		st.Yielding = &Yielding{To: m.yield.To, Priority: m.yield.Priority, Holds: m.yield.Holds, Arbiter: m.yield.Arbiter}
	}
	return st
}
