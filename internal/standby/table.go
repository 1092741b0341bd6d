package standby

import (
	"net/netip"
	"slices"
	"time"
)

// MaxPeers bounds the standbys a table remembers (the replay guard's
// bound on senders too): past it, a new one is not taken on until one
// goes silent.
const MaxPeers = 15

// Peer is another standby as last heard.
type Peer struct {
	Self
	Heard time.Time  `json:"heard"`
	From  netip.Addr `json:"from"`
	Link  string     `json:"link"`
	// Interval is how often it says it announces itself: the primary's
	// interval as it knows it (the default one before it heard any).
	Interval time.Duration `json:"interval"`
}

// Life is how long after its last announcement a standby counts as
// alive: Timeout, the primary's timeout, which counts Pace, the primary's
// interval as this host knows it; for one that says it announces itself
// less often (it has not heard the primary, and goes by the default
// interval), as many of its own intervals as Timeout is of Pace.
type Life struct{ Timeout, Pace time.Duration }

// of is how long p counts as alive after it was heard.
func (l Life) of(p *Peer) time.Duration {
	if l.Pace <= 0 || p.Interval <= l.Pace {
		return l.Timeout
	}
	return time.Duration(float64(l.Timeout) / float64(l.Pace) * float64(p.Interval))
}

// Table is the standbys heard. It is not safe for concurrent use.
type Table struct {
	peers map[string]*Peer
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{peers: map[string]*Peer{}} }

// Heard records an announcement at p.Heard. ok is false when the table
// is full of standbys alive (life) and p is not one of them.
func (t *Table) Heard(p Peer, life Life) (ok bool) {
	if old, known := t.peers[p.Name]; known {
		*old = p
		return true
	}
	if len(t.peers) >= MaxPeers {
		t.forget(p.Heard, life)
		if len(t.peers) >= MaxPeers {
			return false
		}
	}
	t.peers[p.Name] = &p
	return true
}

// forget drops the standbys no longer alive at now.
func (t *Table) forget(now time.Time, life Life) {
	for n, p := range t.peers {
		if now.Sub(p.Heard) > life.of(p) {
			delete(t.peers, n)
		}
	}
}

// Alive returns the standbys alive at now (life), the highest rank
// first.
func (t *Table) Alive(now time.Time, life Life) []Peer {
	var out []Peer
	for _, p := range t.peers {
		if now.Sub(p.Heard) <= life.of(p) {
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b Peer) int {
		if Above(a.Self, b.Self) {
			return -1
		}
		return 1
	})
	return out
}

// Yield is what self must leave to another standby at now; the zero
// Yield: nothing. A holder is yielded to while self does not hold the
// addresses, and, while it does, when it ranks above self (self gives
// them back); otherwise a standby that ranks above self, alive and
// eligible, takes them first. Lower names a holder that ranks below
// self while self holds the addresses: it gives them back, and its
// answers meanwhile are no conflict.
type Yield struct {
	To       string
	Priority int
	Holds    bool
	Above    bool
	Lower    string
}

// Yield says what self leaves to the others at now.
func (t *Table) Yield(self Self, now time.Time, life Life) Yield {
	alive := t.Alive(now, life)
	for _, p := range alive {
		if p.Holding && (!self.Holding || Above(p.Self, self)) {
			return Yield{To: p.Name, Priority: p.Priority, Holds: true, Above: Above(p.Self, self)}
		}
	}
	if self.Holding {
		for _, p := range alive {
			if p.Holding {
				return Yield{Lower: p.Name}
			}
		}
		return Yield{}
	}
	for _, p := range alive {
		if p.Eligible && Above(p.Self, self) {
			return Yield{To: p.Name, Priority: p.Priority, Above: true}
		}
	}
	return Yield{}
}

// Ties returns the standbys alive at now with self's priority: a
// configuration error, since the ranks then hang on the names.
func (t *Table) Ties(self Self, now time.Time, life Life) []Peer {
	return slices.DeleteFunc(t.Alive(now, life), func(p Peer) bool { return p.Priority != self.Priority })
}
