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
	probeOn    bool
	probeSince time.Time // when the round told begun began
	probe      []string
	deadline   time.Time
	peer       time.Duration
}

// orders returns the Ask, ProbeRound and Probe actions for what changed
// since the caller was last told.
func (m *Machine) orders() []Action {
	var out []Action
	if every := m.askEvery(); every != m.said.every {
		m.said.every = every
		out = append(out, Ask{Every: every})
	}
	pr := &m.probe
	if pr.on != m.said.probeOn || (pr.on && !pr.since.Equal(m.said.probeSince)) {
		if m.said.probeOn {
			out = append(out, pr.lastEnd())
		}
		if pr.on {
			out = append(out, ProbeRound{On: true})
		}
		m.said.probeOn, m.said.probeSince = pr.on, pr.since
	}
	if links := m.probing(); !slices.Equal(links, m.said.probe) {
		m.said.probe = links
		out = append(out, Probe{Links: links})
	}
	if next := m.nextDeadline(); !next.Equal(m.said.deadline) || m.peerInterval != m.said.peer {
		m.said.deadline, m.said.peer = next, m.peerInterval
		out = append(out, Deadline{At: next, PeerInterval: m.peerInterval})
	}
	return out
}

// Status returns the machine's status at now.
func (m *Machine) Status(now time.Time) Status {
	st := Status{State: m.state, Since: m.since, Holding: m.holding(), Running: m.hold.running, Links: m.linkList(),
		PeerInterval: m.peerInterval, Timeout: m.timeout(), AskWindow: m.askWindow(), Health: m.health.status()}
	if a, ok := m.answering(now); ok {
		st.Answering = &a
	}
	return st
}
