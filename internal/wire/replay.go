package wire

import (
	"slices"
	"time"
)

// DefaultFreshness is how far a new epoch's send time may be from the
// receiver's clock and still be accepted.
const DefaultFreshness = 30 * time.Second

// retiredEpochs is how many replaced epochs a sender's state remembers, so
// that a recorded packet of an earlier run cannot be replayed to switch the
// receiver back to it.
const retiredEpochs = 16

type senderState struct {
	epoch   uint64
	lastSeq uint64
	retired []uint64
}

// ReplayGuard applies the replay rules to authenticated packets, per
// sender identity:
//   - within an epoch the sequence number must increase;
//   - a new epoch (a restarted sender) is accepted only when its send time
//     is within Freshness of the receiver's clock, and never when it is an
//     epoch this sender already left behind.
//
// It is not safe for concurrent use; the receive loop owns it.
type ReplayGuard struct {
	Freshness time.Duration
	senders   map[string]*senderState
}

// NewReplayGuard returns a guard with the given freshness window
// (DefaultFreshness when zero).
func NewReplayGuard(freshness time.Duration) *ReplayGuard {
	if freshness <= 0 {
		freshness = DefaultFreshness
	}
	return &ReplayGuard{Freshness: freshness, senders: make(map[string]*senderState)}
}

// Check decides whether p is acceptable at time now and, when it is,
// records it. It returns nil, ErrReplay, ErrRetired or ErrStaleEpoch.
func (g *ReplayGuard) Check(p *Packet, now time.Time) error {
	s := g.senders[p.Sender]
	if s != nil && s.epoch == p.Epoch {
		if p.Seq <= s.lastSeq {
			return ErrReplay
		}
		s.lastSeq = p.Seq
		return nil
	}
	if s != nil && slices.Contains(s.retired, p.Epoch) {
		return ErrRetired
	}
	if age := now.Sub(p.SentAt); age > g.Freshness || age < -g.Freshness {
		return ErrStaleEpoch
	}
	if s == nil {
		s = &senderState{}
		g.senders[p.Sender] = s
	} else {
		s.retired = append(s.retired, s.epoch)
		if len(s.retired) > retiredEpochs {
			s.retired = s.retired[1:]
		}
	}
	s.epoch = p.Epoch
	s.lastSeq = p.Seq
	return nil
}
