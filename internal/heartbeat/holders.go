package heartbeat

import (
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Holders judges the other hosts that answer for the service addresses:
// the secondary, which holds them after a takeover and lets go with a
// `released`, and anyone else (a third host with the same
// FAILOVER_SERVICE_IPS, an attacker). An ARP or NA answer says nothing
// about who sent it, so a MAC counts as the secondary's only when the
// key vouched for it: it answered for an address until an authenticated
// `released` came, and then stayed silent for Window while this host
// held the address and asked.
//
//   - An address this host wants and another host answers for: it waits
//     (nothing is added). Not known to be the secondary, the holder is
//     a conflict. Either is noticed once it has answered for Patience
//     (the secondary's hold-down and its hooks): the secondary after a
//     takeover gives the address back within that, unless it keeps it
//     (automatic give-back off, a failed give-back, a crash).
//   - An address this host holds and another host answers for: the
//     secondary's MAC → Remove (one owner at once; the secondary gives
//     it back with a released after its hold-down); any other MAC →
//     Keep, with a notice: an unauthenticated answer never takes an
//     address away.
//
// Holders is not safe for concurrent use; Service guards it.
type Holders struct {
	// Patience: how long a holder not known to be the secondary may
	// answer for an address this host wants before a notice.
	Patience time.Duration
	// Window: how long a MAC that answered before a released must stay
	// silent after it to be the secondary's.
	Window time.Duration

	secondary map[string]string // interface → the secondary's MAC, vouched by a released
	addrs     map[netip.Addr]*seen
}

// seen is the latest other host heard for one address, and what has been
// said about it.
type seen struct {
	Holder
	logged   bool // the wait was logged
	told     bool // noticed
	conflict bool // it answered while this host held the address
	// cand answered until a released; it is the secondary's if it
	// stays silent from candFrom on.
	cand      string
	candIface string
	candFrom  time.Time
}

// keepCand is s with only its candidate left.
func (s *seen) keepCand() seen {
	return seen{cand: s.cand, candIface: s.candIface, candFrom: s.candFrom}
}

// Holder is another host that answers for a service address.
type Holder struct {
	Addr      netip.Addr
	Interface string
	MAC       string
	// Since: when this host, wanting the address, first found it
	// answering (zero while not wanted).
	Since time.Time
	At    time.Time // its latest answer
	// Secondary: a released vouched for the MAC (see Holders).
	Secondary bool
}

// Verdict is what this host does with an address another host answers
// for while this host holds it.
type Verdict int

// Verdicts.
const (
	Keep   Verdict = iota + 1 // not known to be the secondary: kept, noticed
	Remove                    // the secondary's: removed here, given back with a released
)

func (v Verdict) String() string {
	switch v {
	case Keep:
		return "keep"
	case Remove:
		return "remove"
	}
	return "none"
}

// Conflict is another host answering for an address this host holds.
type Conflict struct {
	Holder
	Verdict Verdict
	// Notice: the first answer of this conflict; say so.
	Notice bool
	// Stayed: the MAC answered before the secondary's released and again
	// after it, so it is not the host that let go.
	Stayed bool
}

func (h *Holders) get(addr netip.Addr) *seen {
	if h.addrs == nil {
		h.addrs = map[netip.Addr]*seen{}
	}
	s := h.addrs[addr]
	if s == nil {
		s = &seen{}
		h.addrs[addr] = s
	}
	return s
}

// isSecondary says a released vouched for mac on iface.
func (h *Holders) isSecondary(iface, mac string) bool {
	return mac != "" && h.secondary[iface] == mac
}

// Heard takes an answer for addr; held says this host holds it. It
// returns a conflict when this host holds it.
func (h *Holders) Heard(a takeover.Answer, held bool) (Conflict, bool) {
	s := h.get(a.Addr)
	mac := a.MAC.String()
	if s.MAC != mac {
		// Another host: what was said was about the last one.
		s.Holder = Holder{Addr: a.Addr}
		s.logged, s.told, s.conflict = false, false, false
	}
	s.Interface, s.MAC, s.At = a.Interface, mac, a.At
	s.Secondary = h.isSecondary(a.Interface, mac)
	if !held {
		return Conflict{}, false
	}
	c := Conflict{Holder: s.Holder, Verdict: Keep}
	if s.Secondary {
		c.Verdict = Remove
	} else if s.cand == mac && !a.At.Before(s.candFrom) {
		c.Stayed, s.cand = true, ""
	}
	if !s.conflict {
		s.conflict, s.told = true, false
	}
	c.Notice, s.told = !s.told, true
	return c, true
}

// Answered returns the latest holder of addr if it answered at since or
// later.
func (h *Holders) Answered(addr netip.Addr, since time.Time) (Holder, bool) {
	s := h.addrs[addr]
	if s == nil || s.MAC == "" || s.At.Before(since) {
		return Holder{}, false
	}
	return s.Holder, true
}

// Wanted says this host wants addr and found it answered (Answered):
// first is the first time for this holder, notice when it is due (the
// holder has answered for Patience: longer than a secondary that hears
// this host keeps an address).
func (h *Holders) Wanted(addr netip.Addr, now time.Time) (hd Holder, first, notice bool) {
	s := h.get(addr)
	if s.conflict {
		// Held until now (removed for the secondary): a wait begins.
		s.conflict, s.told, s.logged = false, false, false
	}
	if s.Since.IsZero() {
		s.Since = now
	}
	first, s.logged = !s.logged, true
	if !s.told && now.Sub(s.Since) >= h.Patience {
		notice, s.told = true, true
	}
	return s.Holder, first, notice
}

// Released: the secondary said it let go. The MAC that answered last for
// each address becomes the candidate for the secondary's, and every
// wait ends.
func (h *Holders) Released(now time.Time) {
	for _, s := range h.addrs {
		if s.MAC != "" {
			s.cand, s.candIface, s.candFrom = s.MAC, s.Interface, now
		}
		*s = s.keepCand()
	}
}

// Added: this host holds addr from now; the wait for it ends.
func (h *Holders) Added(addr netip.Addr) {
	if s := h.addrs[addr]; s != nil {
		*s = s.keepCand()
	}
}

// Reset forgets every holder and candidate (the service checks failed:
// the secondary takes the addresses by right). The secondary's MACs
// stay known.
func (h *Holders) Reset() { h.addrs = nil }

// Settle ends the conflicts of held addresses that nobody answered since
// quiet (the time of a question whose answer would have come by now;
// zero when there is none), and makes a candidate the secondary's once
// it stayed silent for Window after the released and a question since
// went unanswered. held says which addresses this host holds.
func (h *Holders) Settle(now, quiet time.Time, held func(netip.Addr) bool) (ended, learnt []Holder) {
	for addr, s := range h.addrs {
		switch {
		case s.cand == "" || now.Sub(s.candFrom) < h.Window:
		case !held(addr):
			s.cand = "" // not added: its silence proves nothing
		case !quiet.Before(s.candFrom):
			if h.secondary == nil {
				h.secondary = map[string]string{}
			}
			h.secondary[s.candIface] = s.cand
			learnt = append(learnt, Holder{Addr: addr, Interface: s.candIface, MAC: s.cand, At: s.candFrom, Secondary: true})
			s.cand = ""
		}
		if s.conflict && s.At.Before(quiet) && held(addr) {
			ended = append(ended, s.Holder)
			*s = s.keepCand()
		}
	}
	return ended, learnt
}
