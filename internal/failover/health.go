package failover

import (
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

// health is the primary's service as its heartbeats say it (the
// package doc's "The primary's health").
type health struct {
	unhealthy bool
	yielded   bool      // it gave its service addresses up: a hand-over
	detail    string    // what the primary said of the failing check
	since     time.Time // when the state last changed; zero: never heard
	answered  bool      // an address answered since it went unhealthy
	told      bool      // the hand-over's conflict has been noticed
}

// status returns the primary's health as last heard.
func (h *health) status() Health {
	return Health{Healthy: !h.unhealthy, Since: h.since, Detail: h.detail}
}

// heard applies the health a heartbeat carried, and says whether it
// changed.
func (h *health) heard(e Heartbeat) (changed bool) {
	if e.Unhealthy == h.unhealthy {
		if e.Unhealthy {
			h.detail = e.Detail
			h.yielded = e.Yielded
		} else if h.since.IsZero() {
			h.since = e.At // healthy since first heard
		}
		return false
	}
	*h = health{unhealthy: e.Unhealthy, yielded: e.Yielded, since: e.At}
	if e.Unhealthy {
		h.detail = e.Detail
	}
	return true
}

// heardAnswer records an answer for an address while unhealthy.
func (h *health) heardAnswer() {
	if h.unhealthy {
		h.answered = true
	}
}

// tell says whether the hand-over's conflict is news, and records it
// said.
func (h *health) tell() bool {
	if h.told {
		return false
	}
	h.told = true
	return true
}

// heardHealth applies the health a heartbeat carried and returns the
// notice of a change.
func (m *Machine) heardHealth(e Heartbeat) []Action {
	if !m.health.heard(e) {
		return nil
	}
	if e.Unhealthy {
		m.backSince = time.Time{} // no give-back to a failing service
		what := "; it keeps its addresses (its own, or it could not remove them): nothing moves"
		if e.Yielded {
			what = "; it gave its service addresses up, and they are taken over once free"
		}
		return []Action{Notice{Kind: notice.Unhealthy, Detail: "the primary reports its service unhealthy (" + e.Detail + ")" + what}}
	}
	return []Action{Notice{Kind: notice.Healthy, Detail: "the primary reports its service healthy again"}}
}

// handingOver says the primary gave its service addresses up and this
// host is the standby to take them (no other standby holds them or
// takes them first): it asks whether they are free.
func (m *Machine) handingOver() bool { return m.health.yielded && !m.yielding() }

// handOver takes the addresses over from a primary whose service fails,
// once nobody answers for them (heartbeatd removed them). ok says the
// rule applied.
func (m *Machine) handOver(now time.Time) (acts []Action, ok bool) {
	if !m.health.unhealthy || !m.health.yielded || !m.p.Ask {
		return nil, false
	}
	if m.yielding() {
		// Another standby holds the addresses or takes them first:
		// whoever answers is known, and nothing is asked meanwhile.
		return nil, true
	}
	if m.free(now) {
		return m.start(Takeover, "the primary's service is unhealthy ("+m.health.detail+") and its addresses are free", now), true
	}
	// heartbeatd removed its service addresses before it said so: one
	// that still answers a lead after that is held by another host.
	if !m.inUse(now) || m.ask.last.At.Before(m.health.since.Add(m.lead())) || !m.health.tell() {
		return nil, true
	}
	return []Action{Notice{Kind: notice.Conflict, Detail: m.conflictDetail("the primary gave it up for a hand-over (its service is unhealthy)") +
		"; nothing is taken over while it answers"}}, true
}
