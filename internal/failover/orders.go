package failover

import (
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

// The actions that tell the caller how to ask and probe. Handle returns
// one whenever what it says changes, so that the caller keeps the last of
// each and reads no state of the machine to know what to send.

// Ask: ask who answers for the addresses every Every from now on (the
// first question at once); zero: ask no more.
type Ask struct{ Every time.Duration }

// ProbeRound: a round of probes of the primary's host began (On; How and
// Ended are then empty), or the one under way ended, How and Ended saying
// how (ProbeOutcome, in words). A round that ends and another that begins
// within one event are told as two: the end, then the beginning.
type ProbeRound struct {
	On    bool
	How   ProbeOutcome
	Ended string
}

// Probe: probe the primary's host on each of Links, once at each of the
// questions' turns, until another Probe names other links (none: stop).
// A link without carrier is never named: nothing sent there can be
// answered.
type Probe struct{ Links []string }

// Moved: the machine went from one state to another, at Since. Handle
// returns it first, once for each event that changed the state (states
// passed through within one event are not told).
type Moved struct {
	From, To State
	Since    time.Time
}

// Deadline: with no event before, hand the machine a Tick at At (zero:
// nothing is pending). PeerInterval is the primary's interval as last
// heard: a deadline that moved later need not be re-armed at once while
// the timer would fire within one and a half of them anyway.
type Deadline struct {
	At           time.Time
	PeerInterval time.Duration
}

func (Moved) isAction()      {}
func (Deadline) isAction()   {}
func (Ask) isAction()        {}
func (ProbeRound) isAction() {}
func (Probe) isAction()      {}

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
			out = append(out, ProbeRound{How: pr.how, Ended: pr.ended})
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

// Status is what the machine shows of itself, for display and for the
// operator's commands: the caller reads nothing else of it.
type Status struct {
	State        State
	Since        time.Time
	Holding      bool // the addresses are (or are being) taken
	Running      Job  // the job under way
	Links        []notice.Link
	PeerInterval time.Duration // the primary's interval as last heard
	Timeout      time.Duration
	AskWindow    time.Duration // how long an answer counts while the primary is suspected
	Health       Health        // the primary's service, as its heartbeats say
	Answering    *Answering    // another host answering for an address now; nil: none
}

// Status returns the machine's status at now.
func (m *Machine) Status(now time.Time) Status {
	st := Status{State: m.state, Since: m.since, Holding: m.holding(), Running: m.running, Links: m.linkList(),
		PeerInterval: m.peerInterval, Timeout: m.timeout(), AskWindow: m.askWindow(), Health: m.healthNow()}
	if a, ok := m.answering(now); ok {
		st.Answering = &a
	}
	return st
}
