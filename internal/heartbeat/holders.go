package heartbeat

import (
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// Holders keeps the other hosts that answer for the service addresses
// (the package doc's "Other hosts answering"). It is not safe for
// concurrent use; Service guards it.
type Holders struct {
	// Patience: how long a holder may answer for an address this host
	// wants before a notice.
	Patience time.Duration

	addrs map[netip.Addr]*seen
}

// seen is the latest other host heard for one address, and what has been
// said about it.
type seen struct {
	Holder
	logged   bool // the wait was logged
	told     bool // noticed
	conflict bool // it answered while this host held the address
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
}

// Conflict is another host answering for an address this host holds:
// this host keeps it.
type Conflict struct {
	Holder
	// Notice: the first answer of this conflict; say so.
	Notice bool
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

// Heard takes an answer for addr; held says this host holds it. It
// returns a conflict when this host holds it.
func (h *Holders) Heard(a neighbor.Answer, held bool) (Conflict, bool) {
	s := h.get(a.Addr)
	mac := a.MAC.String()
	if s.MAC != mac {
		// Another host: what was said was about the last one.
		s.Holder = Holder{Addr: a.Addr}
		s.logged, s.told, s.conflict = false, false, false
	}
	s.Interface, s.MAC, s.At = a.Interface, mac, a.At
	if !held {
		return Conflict{}, false
	}
	if !s.conflict {
		s.conflict, s.told = true, false
	}
	c := Conflict{Holder: s.Holder, Notice: !s.told}
	s.told = true
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
		// Held until now (removed for the secondary's holding): a
		// wait begins.
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

// Released: the secondary said it let go; every wait ends.
func (h *Holders) Released() {
	for _, s := range h.addrs {
		*s = seen{}
	}
}

// Added: this host holds addr from now; the wait for it ends.
func (h *Holders) Added(addr netip.Addr) {
	if s := h.addrs[addr]; s != nil {
		*s = seen{}
	}
}

// Reset forgets every holder (the service checks failed: the secondary
// takes the addresses by right).
func (h *Holders) Reset() { h.addrs = nil }

// Settle ends the conflicts of held addresses that nobody answered since
// quiet (the time of a question whose answer would have come by now;
// zero when there is none). held says which addresses this host holds.
func (h *Holders) Settle(quiet time.Time, held func(netip.Addr) bool) (ended []Holder) {
	for addr, s := range h.addrs {
		if s.conflict && s.At.Before(quiet) && held(addr) {
			ended = append(ended, s.Holder)
			*s = seen{}
		}
	}
	return ended
}
