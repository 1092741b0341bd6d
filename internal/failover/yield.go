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
	Lower    string
}

func (Yield) isEvent() {}

// Yielding is what status says of a Yield in force: whom this host
// leaves the addresses to, and why.
type Yielding struct {
	To       string `json:"to"`
	Priority int    `json:"priority"`
	Holds    bool   `json:"holds"`
}

// Words says it in a sentence.
func (y Yielding) Words() string {
	if y.Holds {
		return fmt.Sprintf("standby %s (priority %d) holds the addresses; this host watches it", y.To, y.Priority)
	}
	return fmt.Sprintf("standby %s (priority %d) ranks above this host and takes the addresses first", y.To, y.Priority)
}

func (m *Machine) yielded(e Yield) []Action {
	if m.yield.Holds && (!e.Holds || e.To != m.yield.To) {
		// The standby that held the addresses let go of them, or is
		// gone: the answers heard while it held them were its own, and
		// only the questions from now on tell whether anything still
		// answers.
		m.ask.forget(e.At)
	}
	m.yield = e
	return m.evaluate(e.At)
}

// yielding says an automatic takeover waits for another standby.
func (m *Machine) yielding() bool { return m.yield.To != "" }

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
	return m.start(GiveBack, fmt.Sprintf("standby %s (priority %d) holds the addresses too and ranks above this host", m.yield.To, m.yield.Priority), now), true
}
