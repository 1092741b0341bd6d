package wire

import (
	"cmp"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// DefaultFreshness is how far a new epoch's send time may be from the
// receiver's clock and still be accepted.
const DefaultFreshness = 30 * time.Second

const (
	// retiredEpochs is how many replaced epochs a sender's state
	// remembers, so that a recorded packet of an earlier run cannot be
	// replayed to switch the receiver back to it.
	retiredEpochs = 16
	// window is how many of a sender's latest sequence numbers are
	// remembered with the links they came on; older ones are refused.
	window = 64
	// maxSenders bounds the senders remembered: past it, the one heard
	// least recently is forgotten. A receiver expects one sender.
	maxSenders = 16
	// driftPPM is how fast the two clocks may drift apart.
	driftPPM = 100
	// clockStep is how long before the current epoch's latest packet a
	// new epoch's first may have been sent and still replace it. The
	// sender's clock may be stepped back across its restart (ntpd steps
	// a clock more than 128 ms off; chrony, by default, one more than
	// 1 s off, at its start); the restart's own time (systemd waits a
	// second) absorbs that much more. A recording of an earlier epoch,
	// replayed later, is older than that and is refused.
	clockStep = time.Second
)

// seen is one sequence number: when it was first accepted and on which
// links.
type seen struct {
	seq   uint64
	first time.Time
	links uint64 // bit i: accepted on link i
}

type senderState struct {
	epoch   uint64
	retired []uint64
	top     uint64 // the highest sequence number accepted
	recent  []seen // the latest sequence numbers accepted, at most window
	// lastSent is the latest send time accepted in this epoch. A packet
	// of it sent long before was held back; a new epoch must be later.
	lastSent time.Time
	// minOffset is the smallest receive-minus-send time seen in this
	// epoch (the path's delay plus the clocks' difference), at minAt. A
	// packet much later than that was held back and released late.
	// minAt is zero after Restore, until a packet of the epoch comes.
	minOffset time.Duration
	minAt     time.Time
	lastUsed  time.Time
}

// ReplayGuard applies the replay rules to authenticated packets, per
// sender identity, across all the links they arrive on:
//   - a sequence number counts once on each link, and on a second link
//     only while it is new (within one of the sender's intervals of its
//     first arrival): the sender sends the same packet on every link, and
//     a packet recorded on one link and replayed later on another, to
//     keep a dead primary's silent link alive, is refused;
//   - sequence numbers older than the last window ones are refused, and
//     one never seen below the highest only right after that arrived;
//   - a packet sent much longer ago than the others took to arrive, or
//     sent long before the latest one accepted (more than four of its
//     intervals, at least a second, either way), was held back, and is
//     refused;
//   - a new epoch (a restarted sender) is accepted only when its send
//     time is within Freshness of the receiver's clock and not before
//     the current epoch's latest send time (less clockStep, and never
//     later than the receiver's clock), and never when it is an epoch
//     this sender already left behind: epochs only move forward, so a
//     recording of an earlier run, replayed while the sender lives, can
//     never take the live epoch's place.
//
// Records and Restore carry what it remembers across a restart of the
// receiver. It remembers at most maxSenders senders. It is not safe for
// concurrent use.
type ReplayGuard struct {
	Freshness time.Duration
	senders   map[string]*senderState
	// adopted counts the epochs taken on, accepted the packets: a
	// keeper of Records can tell whether, and how much, they changed.
	adopted, accepted uint64
}

// NewReplayGuard returns a guard with the given freshness window
// (DefaultFreshness when zero).
func NewReplayGuard(freshness time.Duration) *ReplayGuard {
	if freshness <= 0 {
		freshness = DefaultFreshness
	}
	return &ReplayGuard{Freshness: freshness, senders: make(map[string]*senderState)}
}

// spread is how long after a packet's first arrival its copy may arrive
// on another link.
func spread(interval time.Duration) time.Duration {
	return min(max(interval, 50*time.Millisecond), time.Second)
}

// maxDelay is how much later than the best path a packet may arrive.
func maxDelay(interval time.Duration) time.Duration {
	return max(4*interval, time.Second)
}

// Check decides whether p, which arrived on link (0 to 63) at now, is
// acceptable and, when it is, records it. It returns nil, ErrReplay,
// ErrDelayed, ErrRetired, ErrStaleEpoch or ErrEpochBehind.
func (g *ReplayGuard) Check(p *Packet, link int, now time.Time) error {
	bit := uint64(1) << (uint(link) % 64)
	offset := now.Sub(p.SentAt)
	s := g.senders[p.Sender]
	if s != nil && s.epoch == p.Epoch {
		if err := s.check(p, bit, offset, now); err != nil {
			return err
		}
		s.lastUsed = now
		g.accepted++
		return nil
	}
	if s != nil && slices.Contains(s.retired, p.Epoch) {
		return ErrRetired
	}
	if offset > g.Freshness || offset < -g.Freshness {
		return ErrStaleEpoch
	}
	if s != nil {
		// A sender's clock ahead of ours (or a latest send time read
		// back from a file) does not hold a fresh epoch out.
		floor := s.lastSent
		if now.Before(floor) {
			floor = now
		}
		if behind := floor.Sub(p.SentAt); behind > clockStep {
			return fmt.Errorf("%w: sent %v before the latest packet of epoch %d", ErrEpochBehind, behind.Round(time.Millisecond), s.epoch)
		}
	}
	if s == nil {
		g.forgetOldest()
		s = &senderState{}
		g.senders[p.Sender] = s
	} else {
		s.retire(s.epoch)
	}
	s.epoch, s.top, s.lastSent, s.lastUsed = p.Epoch, p.Seq, p.SentAt, now
	s.recent = append(s.recent[:0], seen{seq: p.Seq, first: now, links: bit})
	s.minOffset, s.minAt = offset, now
	g.adopted++
	g.accepted++
	return nil
}

// retire remembers epoch as left behind, with at most retiredEpochs others.
func (s *senderState) retire(epoch uint64) {
	s.retired = append(s.retired, epoch)
	s.retired = s.retired[max(0, len(s.retired)-retiredEpochs):]
}

// check applies the rules within an epoch.
func (s *senderState) check(p *Packet, bit uint64, offset time.Duration, now time.Time) error {
	// The best path's offset creeps by the clocks' drift.
	best := s.minOffset + now.Sub(s.minAt)/(1_000_000/driftPPM)
	if !s.minAt.IsZero() && offset > best+maxDelay(p.Interval) {
		return ErrDelayed
	}
	// Told by the sender's clock alone, so it holds after a Restore too.
	if s.lastSent.Sub(p.SentAt) > maxDelay(p.Interval) {
		return ErrDelayed
	}
	i := slices.IndexFunc(s.recent, func(r seen) bool { return r.seq == p.Seq })
	switch {
	case i >= 0 && s.recent[i].links&bit != 0:
		return ErrReplay // seen on this link already
	case i >= 0 && now.Sub(s.recent[i].first) > spread(p.Interval):
		return ErrReplay // seen on another link, long ago: replayed
	case i >= 0:
		s.recent[i].links |= bit
	case p.Seq > s.top:
		s.top = p.Seq
		s.remember(seen{seq: p.Seq, first: now, links: bit})
	case s.top-p.Seq >= window:
		return ErrReplay
	default:
		// Never seen, below the highest: lost on every link, or
		// overtaken by a later one. Only just after that one came.
		if top := slices.IndexFunc(s.recent, func(r seen) bool { return r.seq == s.top }); top < 0 || now.Sub(s.recent[top].first) > spread(p.Interval) {
			return ErrReplay
		}
		s.remember(seen{seq: p.Seq, first: now, links: bit})
	}
	if s.minAt.IsZero() || offset < s.minOffset {
		s.minOffset, s.minAt = offset, now
	}
	if p.SentAt.After(s.lastSent) {
		s.lastSent = p.SentAt
	}
	return nil
}

// remember keeps r among the latest window sequence numbers.
func (s *senderState) remember(r seen) {
	if len(s.recent) == window {
		// Drop the lowest (each sequence number is there once).
		low := slices.MinFunc(s.recent, func(a, b seen) int { return cmp.Compare(a.seq, b.seq) })
		s.recent = slices.DeleteFunc(s.recent, func(x seen) bool { return x.seq == low.seq })
	}
	s.recent = append(s.recent, r)
}

// forgetOldest makes room for one more sender.
func (g *ReplayGuard) forgetOldest() {
	if len(g.senders) < maxSenders {
		return
	}
	var oldest string
	for name, s := range g.senders {
		if oldest == "" || s.lastUsed.Before(g.senders[oldest].lastUsed) {
			oldest = name
		}
	}
	delete(g.senders, oldest)
}

// SenderRecord is what a guard remembers of one sender across a restart
// of the receiver: its current epoch, the highest sequence number and
// latest send time accepted in it, and the epochs it left behind.
type SenderRecord struct {
	Sender   string    `json:"sender"`
	Epoch    uint64    `json:"epoch"`
	Top      uint64    `json:"top"`
	LastSent time.Time `json:"last_sent"`
	Retired  []uint64  `json:"retired,omitempty"`
}

// Records returns a copy of what the guard remembers, by sender.
func (g *ReplayGuard) Records() []SenderRecord {
	out := make([]SenderRecord, 0, len(g.senders))
	for name, s := range g.senders {
		out = append(out, SenderRecord{Sender: name, Epoch: s.epoch, Top: s.top, LastSent: s.lastSent, Retired: slices.Clone(s.retired)})
	}
	slices.SortFunc(out, func(a, b SenderRecord) int { return cmp.Compare(a.Sender, b.Sender) })
	return out
}

// Current returns sender's current epoch and the latest send time
// accepted in it; ok is false for a sender the guard does not know.
func (g *ReplayGuard) Current(sender string) (epoch uint64, lastSent time.Time, ok bool) {
	s := g.senders[sender]
	if s == nil {
		return 0, time.Time{}, false
	}
	return s.epoch, s.lastSent, true
}

// Changes counts the epochs the guard took on and the packets it
// accepted: when neither moved, neither did Records.
func (g *ReplayGuard) Changes() (adopted, accepted uint64) { return g.adopted, g.accepted }

// Restore takes back what Records returned before a restart, in place of
// what the guard knows of those senders. Then it refuses the retired
// epochs, the current epoch's sequence numbers up to Top and packets of
// it sent long before LastSent, and a new epoch sent before LastSent, as
// it did; what it cannot tell is a packet above Top sent after the
// records were taken. A record the guard could not have made (no sender
// name, one too long) is skipped; past maxSenders, the rest are.
func (g *ReplayGuard) Restore(recs []SenderRecord, now time.Time) {
	for _, r := range recs {
		if len(g.senders) >= maxSenders && g.senders[r.Sender] == nil {
			return
		}
		if r.Sender == "" || len(r.Sender) > MaxSenderLen || !utf8.ValidString(r.Sender) {
			continue
		}
		s := &senderState{epoch: r.Epoch, top: r.Top, lastSent: r.LastSent, lastUsed: now}
		for _, e := range r.Retired {
			if e != r.Epoch {
				s.retire(e)
			}
		}
		g.senders[r.Sender] = s
	}
}
