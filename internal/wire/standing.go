package wire

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// FormatKeyID writes a key id as failoverctl keygen prints it: eight
// hexadecimal digits.
func FormatKeyID(id uint32) string { return fmt.Sprintf("%08x", id) }

// IDs returns the ids of the keyring's keys, the signing key first.
func (k *Keyring) IDs() []uint32 {
	if !k.Enabled() {
		return nil
	}
	ids := make([]uint32, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	return ids
}

// KeyIDs names key ids in words: "key id 1a2b3c4d", "key ids 1a2b3c4d,
// 5e6f7a8b", or "no key".
func KeyIDs(ids []uint32) string {
	switch len(ids) {
	case 0:
		return "no key"
	case 1:
		return "key id " + FormatKeyID(ids[0])
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = FormatKeyID(id)
	}
	return "key ids " + strings.Join(s, ", ")
}

// Standing is how one packet stood with the keys it was checked with:
// the keys of the receiver, what the packet carried, and whether it
// failed authentication. A receiver keeps the last one of each link, so
// that it can say whether heartbeats are authenticated, and why not.
// The zero Standing is that of no packet.
type Standing struct {
	At      time.Time // when the packet arrived
	Keys    []uint32  // the ids of the receiver's keys; none: nothing is checked
	Signed  bool      // the packet carried a key id and tag
	KeyID   uint32    // that key id
	Refused bool      // it failed authentication and was dropped
}

// Stand returns the standing of p, decoded from a packet that k's Open
// accepted (err nil) or refused with err; false when err is not about
// authentication (the packet did not decode, or was dropped for
// something else), which says nothing of the keys.
func (k *Keyring) Stand(p Packet, err error, at time.Time) (Standing, bool) {
	if err != nil && ReasonOf(err) != DropBadTag {
		return Standing{}, false
	}
	return Standing{At: at, Keys: k.IDs(), Signed: p.Authenticated, KeyID: p.KeyID, Refused: err != nil}, true
}

// AuthState is a Standing in one word; its text is the state label of
// failoverd's heartbeat_auth_info metric.
type AuthState string

// The states of a Standing.
const (
	AuthNone          AuthState = ""              // no packet
	AuthAuthenticated AuthState = "authenticated" // checked with a key of the receiver's and accepted
	AuthUnchecked     AuthState = "unchecked"     // the receiver has no key: accepted unchecked, signed or not
	AuthRefused       AuthState = "refused"       // the receiver has a key, and the packet was not signed with it: dropped
)

// State is the standing in one word.
func (s Standing) State() AuthState {
	switch {
	case s.At.IsZero():
		return AuthNone
	case s.Refused:
		return AuthRefused
	case len(s.Keys) == 0:
		return AuthUnchecked
	}
	return AuthAuthenticated
}

// Mismatch says the two ends do not agree on authentication: a packet
// refused, or a signed one accepted unchecked for want of a key here.
func (s Standing) Mismatch() bool { return s.Refused || (s.State() == AuthUnchecked && s.Signed) }

// InPackets names the key id the packet carried: "1a2b3c4d", or "none".
func (s Standing) InPackets() string {
	if !s.Signed {
		return "none"
	}
	return FormatKeyID(s.KeyID)
}

// String says in words how the packets stand: "heard, but not
// authenticated: key id 1a2b3c4d here, 5e6f7a8b in the packets" and so
// on; "" for no packet.
func (s Standing) String() string {
	here := KeyIDs(s.Keys) + " here"
	switch s.State() {
	case AuthNone:
		return ""
	case AuthAuthenticated:
		return fmt.Sprintf("authenticated: %s, %s in the packets", here, s.InPackets())
	case AuthUnchecked:
		return fmt.Sprintf("not authenticated: %s, %s in the packets", here, s.InPackets())
	}
	return "heard, but not authenticated: " + s.Sides()
}

// Sides says what a refused packet had against the keys here: "key id
// 1a2b3c4d here, 5e6f7a8b in the packets", "key id 1a2b3c4d here, none
// in the packets (unsigned)", or that the tag of a key id here did not
// match.
func (s Standing) Sides() string {
	here := KeyIDs(s.Keys) + " here"
	switch {
	case !s.Signed:
		return here + ", none in the packets (unsigned)"
	case slices.Contains(s.Keys, s.KeyID):
		return here + " and in the packets, but their tag does not match (changed on the way, or forged)"
	}
	return fmt.Sprintf("%s, %s in the packets", here, s.InPackets())
}

// errAuth is Open's error for an authentication that failed: err, with
// the key ids here and in the packet.
func (k *Keyring) errAuth(err error, p Packet) error {
	s, _ := k.Stand(p, err, time.Time{})
	return fmt.Errorf("%w (%s here, %s in the packet)", err, KeyIDs(s.Keys), s.InPackets())
}
