package monitor

import "time"

// refusedEvery is how often, at most, a link delivers the packets from
// the primary's own addresses that it dropped, unless the reason or the
// key standing changes: the primary sends one each interval, and a
// flood from its address is not handed on at the flood's pace.
const refusedEvery = 10 * time.Millisecond

// refuseLocked returns h, a packet from one of the primary's own
// addresses that was dropped, to deliver, or false when the link
// delivered one like it within refusedEvery.
func (m *Monitor) refuseLocked(h Heard) (Heard, bool) {
	if m.refused == nil {
		m.refused = map[string]Heard{}
	}
	last, ok := m.refused[h.Link]
	if ok && h.At.Sub(last.At) < refusedEvery && last.Dropped == h.Dropped &&
		last.Auth.Signed == h.Auth.Signed && last.Auth.KeyID == h.Auth.KeyID && last.Auth.Refused == h.Auth.Refused {
		return Heard{}, false
	}
	m.refused[h.Link] = h
	return h, false
}
