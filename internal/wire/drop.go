package wire

import "errors"

// DropReason says why a receiver dropped a packet. Receivers count their
// drops by it, and failoverctl status shows those counts.
type DropReason string

// The reasons a packet is dropped.
const (
	DropMalformed   DropReason = "malformed"    // not a packet this version can decode
	DropBadTag      DropReason = "bad-tag"      // unsigned with a key set, unknown key, or a tag that does not match
	DropReplay      DropReason = "replay"       // a sequence number already seen for its sender and epoch
	DropStaleEpoch  DropReason = "stale-epoch"  // a new epoch with a send time outside the window, or before the current epoch's
	DropDelayed     DropReason = "delayed"      // sent long before it arrived: held back by someone
	DropWrongPeer   DropReason = "wrong-peer"   // from an address that is not the peer's
	DropUnknownLink DropReason = "unknown-link" // arrived on an interface that is not a heartbeat link
	DropOtherEpoch  DropReason = "other-epoch"  // a released or holding naming another run of the primary than the live one
	DropWrongType   DropReason = "wrong-type"   // a packet of a type this port does not take: a released, holding or standby from the primary's addresses
)

// ErrWrongType: an authentic packet of a type the port it came to does
// not take. Its signature proves only that a key holder sent it once: a
// standby's announcement or a holding, recorded and sent again from the
// primary's address, is no heartbeat of the primary.
var ErrWrongType = errors.New("a packet of a type this port does not take")

// ReasonOf classes an error from Keyring.Open or ReplayGuard.Check.
func ReasonOf(err error) DropReason {
	switch {
	case errors.Is(err, ErrNoAuth), errors.Is(err, ErrBadTag), errors.Is(err, ErrUnknownKey):
		return DropBadTag
	case errors.Is(err, ErrStaleEpoch), errors.Is(err, ErrEpochBehind):
		return DropStaleEpoch
	case errors.Is(err, ErrDelayed):
		return DropDelayed
	case errors.Is(err, ErrReplay), errors.Is(err, ErrRetired):
		return DropReplay
	case errors.Is(err, ErrOtherEpoch):
		return DropOtherEpoch
	case errors.Is(err, ErrWrongType):
		return DropWrongType
	}
	return DropMalformed
}
