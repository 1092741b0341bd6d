package failover

import (
	"fmt"
	"time"
)

// Yield: another standby that watches the same primary holds the
// addresses (Holds), or ranks above this host and may take them itself
// (Above: a higher priority, heard within the timeout and not held by
// its operator or vetoed by its Test). To empty: no other standby
// stands in the way, and this host decides as it would alone.
//
// With an arbiter (FAILOVER_ARBITER), Arbiter says the arbiter is why:
// it names To as the holder of an address's key (Holds; Above, while
// this host holds the addresses: its own claim is gone), or, with To
// empty, its majority cannot be reached, so this host may add nothing.
//
// While a Yield names a standby, the machine starts no takeover of its
// own accord: where it would, it stays in (or goes back to) Standby,
// with no conflict notice and no fencing Test, since the host that
// answers for the addresses is a standby it knows. It decides again
// the moment the Yield is lifted (that standby went silent, or gave
// the addresses back). A holder told of another holder that ranks above
// it gives the addresses back at once: two standbys answering would be
// two owners. The operator's acquire is not held back (its asking still
// is).
//
// Lower names a standby that ranks below this host and holds the
// addresses too, while this host holds them (To is then empty): it gives
// them back once it hears this host, and its answers meanwhile are no
// conflict to tell of.
type Yield struct {
	At       time.Time
	To       string
	Priority int
	Holds    bool
	Above    bool
	Arbiter  bool
	Lower    string
}

func (Yield) isEvent() {}

// Yielding is what status says of a Yield in force: whom this host
// leaves the addresses to, and why.
type Yielding struct {
	To       string `json:"to,omitempty"`
	Priority int    `json:"priority,omitempty"`
	Holds    bool   `json:"holds"`
	Arbiter  bool   `json:"arbiter,omitempty"`
}

// Words says it in a sentence.
func (y Yielding) Words() string {
	switch {
	case y.Arbiter && y.To == "":
		return "the arbiter's majority cannot be reached: this host adds no address"
	case y.Arbiter:
		return fmt.Sprintf("the arbiter names %s as the holder of the addresses' keys; this host takes nothing while it holds them", y.To)
	case y.Holds:
		return fmt.Sprintf("standby %s (priority %d) holds the addresses; this host watches it", y.To, y.Priority)
	}
	return fmt.Sprintf("standby %s (priority %d) ranks above this host and takes the addresses first", y.To, y.Priority)
}

func (m *Machine) yielded(e Yield) []Action {
	at := e.At
	if m.yield.Holds && (!e.Holds || e.To != m.yield.To) {
		// The standby that held the addresses let go of them, or is
		// gone: the answers heard while it held them were its own, and
		// only the questions from now on tell whether anything still
		// answers.
		m.ask.forget(at)
	}
	e.At, m.yield.At = time.Time{}, time.Time{}
	if e != m.yield {
		m.refusedAt = time.Time{} // what the arbiter says changed: ask it again
	}
	m.yield = e
	return m.evaluate(at)
}

// refusedWithin says the arbiter refused a takeover less than VetoRetry
// before now, and nothing it says changed since.
func (m *Machine) refusedWithin(now time.Time) bool {
	return !m.refusedAt.IsZero() && now.Sub(m.refusedAt) < m.p.VetoRetry
}

// yielding says an automatic takeover waits for another standby.
func (m *Machine) yielding() bool { return m.yield.To != "" || m.yield.Arbiter }

// standAside is where an automatic takeover would have started while
// another standby holds the addresses or takes them first: Standby
// (Degraded stays Degraded), asking only as Standby does.
func (m *Machine) standAside(now time.Time) []Action {
	if m.state != Standby && m.state != Degraded {
		m.set(Standby, now)
	}
	return nil
}

// outranked says a standby that ranks above this host holds the
// addresses too, while this host holds them: it gives them back.
func (m *Machine) outranked(now time.Time) ([]Action, bool) {
	if !m.yield.Holds || !m.yield.Above || !m.hold.idle() || m.hold.forced {
		return nil, false
	}
	why := fmt.Sprintf("standby %s (priority %d) holds the addresses too and ranks above this host", m.yield.To, m.yield.Priority)
	if m.yield.Arbiter {
		why = fmt.Sprintf("the arbiter names %s as the holder of the addresses' keys: this host's claim is gone", m.yield.To)
	}
	return m.start(GiveBack, why, now), true
}
