package monitor

import (
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// refusedEvery is how often, at most, a link delivers the packets from
// the primary's own addresses that it dropped: the primary sends one each
// interval, and a flood from its address is not handed on at the flood's
// pace, whatever each packet carries.
const refusedEvery = 10 * time.Millisecond

// refusedPassEvery is how often, at most, a link delivers one sooner
// than refusedEvery because it is of another kind than the last
// (refusedKind): the primary's own packet among a flood of another
// kind still shows, and a flood whose packets alternate between kinds
// gets no further than refusedEvery allows.
const refusedPassEvery = 250 * time.Millisecond

// refusedKind is what a dropped packet is, in the few ways that tell one
// sender from another: why it was dropped, and whether it was signed,
// with one of the keys here or not. The key id itself is not part of it:
// a sender chooses it freely, and every new one would be a new kind.
type refusedKind struct {
	reason       wire.DropReason
	signed, ours bool
}

func kindOf(h Heard) refusedKind {
	return refusedKind{reason: h.Dropped, signed: h.Auth.Signed, ours: h.Auth.Signed && slices.Contains(h.Auth.Keys, h.Auth.KeyID)}
}

// refusedLink is what a link remembers of the dropped packets it
// delivered.
type refusedLink struct {
	last   time.Time // when it last delivered one
	kind   refusedKind
	passAt time.Time // when it last delivered one sooner for its kind
}

// refuseLocked returns h, a packet from one of the primary's own
// addresses that was dropped, to deliver (Dropped set), or a zero Heard
// when the link delivered one within refusedEvery and h's kind is the
// last one's, or it delivered one sooner for its kind within
// refusedPassEvery. ok is false: it was not accepted.
func (m *Monitor) refuseLocked(h Heard) (_ Heard, ok bool) {
	if m.refused == nil {
		m.refused = map[string]*refusedLink{}
	}
	r := m.refused[h.Link]
	if r == nil {
		r = &refusedLink{}
		m.refused[h.Link] = r
	}
	k := kindOf(h)
	switch {
	case r.last.IsZero() || h.At.Sub(r.last) >= refusedEvery:
	case k != r.kind && (r.passAt.IsZero() || h.At.Sub(r.passAt) >= refusedPassEvery):
		r.passAt = h.At
	default:
		return Heard{}, false
	}
	r.last, r.kind = h.At, k
	return h, false
}
