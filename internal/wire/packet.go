// Package wire encodes, decodes and authenticates heartbeat packets.
//
// It is pure: no sockets, no clocks of its own. The layout (all integers
// big-endian) is
//
//	offset  size  field
//	0       4     magic "IPFO"
//	4       1     version (1)
//	5       1     type: 1 heartbeat, 2 goodbye, 3 released, 4 holding,
//	              5 standby
//	6       1     flags: bit 0 set when an authentication trailer follows;
//	              bit 1 set on a heartbeat when the primary's service
//	              checks fail (the message then says which, and how);
//	              bit 2 with it when the primary gave its service
//	              addresses up for that; bit 3 when a hardware
//	              address follows the message
//	7       1     sender identity length, 1..64
//	8       2     message length, 0..1024
//	10      4     sender's interval in milliseconds, > 0
//	14      8     epoch: random, chosen once per sender process
//	22      8     sequence number, increasing within an epoch
//	30      8     send time, Unix nanoseconds
//	38      n     sender identity (UTF-8)
//	38+n    m     message (the -m text)
//	[hardware address, when flag bit 3 is set]
//	38+n+m  1     its length h, 1..20 (Ethernet 6, InfiniBand 20)
//	39+n+m  h     the hardware address of the interface the sender
//	              sent this packet from
//	[trailer, when flag bit 0 is set]
//	        4     key id
//	        32    HMAC-SHA256 over every byte before the tag
//
// A packet's length must match its header exactly; anything else is
// rejected with an error that says why.
//
// The hardware address lets the receiver learn the sender's MAC on each
// link from what the key vouches for, not from ARP that anyone can send.
// A packet without flag bit 3 is laid out as before the field existed,
// so an older sender's packets still decode; an older receiver drops
// packets that carry it (unknown flag).
//
// A released or holding packet (the secondary's, to the primary) names
// the primary's epoch it is meant for in its message, "epoch=" and 16
// lower-case hex digits (EpochMessage), so that it is signed with the
// rest: the primary acts only on one naming its own run, and a recording
// made before a restart names a run that is gone. A released from an
// older failoverd has an empty message.
package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
	"unicode/utf8"
)

// Magic opens every packet.
const Magic = "IPFO"

// Version is the only protocol version this package speaks.
const Version = 1

// Limits of the variable-length fields.
const (
	MaxSenderLen       = 64
	MaxMessageLen      = 1024
	MaxHardwareAddrLen = 20 // InfiniBand's; Ethernet's is 6
	HeaderLen          = 38
	TagLen             = 32
	TrailerLen         = 4 + TagLen
	// MaxPacketLen is the largest packet Decode accepts.
	MaxPacketLen = HeaderLen + MaxSenderLen + MaxMessageLen + 1 + MaxHardwareAddrLen + TrailerLen
)

const (
	flagAuth         = 1 << 0
	flagUnhealthy    = 1 << 1
	flagYielded      = 1 << 2
	flagHardwareAddr = 1 << 3
	knownFlags       = flagAuth | flagUnhealthy | flagYielded | flagHardwareAddr
)

// Type says what a packet announces.
type Type uint8

// Packet types.
const (
	// Heartbeat: the primary is alive.
	Heartbeat Type = 1
	// Goodbye: the primary is stopping on purpose; take over now.
	Goodbye Type = 2
	// Released: the backup gave the addresses back; re-announce them.
	Released Type = 3
	// Holding: the backup holds the addresses and hears the primary;
	// the primary removes its service addresses until a released.
	Holding Type = 4
	// Standby: a failoverd announces itself to the other standbys of
	// its primary (internal/standby): its priority, whether it holds
	// the addresses, whether it may take them. It goes to the standby
	// port, never the heartbeat port.
	Standby Type = 5
)

func (t Type) String() string {
	switch t {
	case Heartbeat:
		return "heartbeat"
	case Goodbye:
		return "goodbye"
	case Released:
		return "released"
	case Holding:
		return "holding"
	case Standby:
		return "standby"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Packet is one decoded heartbeat packet.
type Packet struct {
	Type     Type
	Sender   string
	Epoch    uint64
	Seq      uint64
	Interval time.Duration // millisecond resolution on the wire
	SentAt   time.Time
	Message  string
	// Unhealthy: a heartbeat from a primary whose service checks fail;
	// Message then describes the failing check. Yielded: it gave its
	// service addresses up for it (never without Unhealthy).
	Unhealthy bool
	Yielded   bool
	// HardwareAddr is the hardware address of the interface the packet
	// was sent from (nil: the sender did not say, as for a target
	// behind a router). Signed with the rest when a key is used.
	HardwareAddr net.HardwareAddr

	// Set by Decode: whether an authentication trailer was present, and
	// its key id. Decode does not check the tag; Keyring.Open does.
	Authenticated bool
	KeyID         uint32
}

// Decode errors. Each names one reason a packet is dropped, so that a
// receiver can count drops by reason.
var (
	ErrTruncated    = errors.New("packet truncated")
	ErrBadMagic     = errors.New("not an ipfailover packet (bad magic)")
	ErrVersion      = errors.New("unsupported protocol version")
	ErrType         = errors.New("unknown packet type")
	ErrFlags        = errors.New("unknown flags set")
	ErrLength       = errors.New("length does not match header")
	ErrSender       = errors.New("sender identity empty, too long or not UTF-8")
	ErrMessage      = errors.New("message too long or not UTF-8")
	ErrInterval     = errors.New("interval is zero")
	ErrHardwareAddr = errors.New("hardware address empty or longer than 20 bytes")
	ErrNoAuth       = errors.New("packet not authenticated but a key is configured")
	ErrUnknownKey   = errors.New("packet signed with an unknown key id")
	ErrBadTag       = errors.New("authentication tag does not match")
	ErrReplay       = errors.New("sequence number not newer than the last one (replay)")
	ErrStaleEpoch   = errors.New("new epoch with a stale timestamp")
	ErrDelayed      = errors.New("sent long before it arrived (held back and released late)")
	ErrRetired      = errors.New("epoch already replaced by a newer one")
	ErrEpochBehind  = errors.New("new epoch sent before the current one's latest packet (an old recording?)")
	ErrUnsignedKey  = errors.New("encoding needs a key to sign")
	ErrOtherEpoch   = errors.New("names another epoch of the primary than its own (a recording of an earlier run?)")
)

func validType(t Type) bool { return t >= Heartbeat && t <= Standby }

// appendBody appends header, sender and message, without the trailer.
func appendBody(b []byte, p *Packet, auth bool) ([]byte, error) {
	if !validType(p.Type) {
		return nil, fmt.Errorf("encode: %w: %d", ErrType, p.Type)
	}
	if len(p.Sender) == 0 || len(p.Sender) > MaxSenderLen || !utf8.ValidString(p.Sender) {
		return nil, fmt.Errorf("encode: %w", ErrSender)
	}
	if len(p.Message) > MaxMessageLen || !utf8.ValidString(p.Message) {
		return nil, fmt.Errorf("encode: %w", ErrMessage)
	}
	if len(p.HardwareAddr) > MaxHardwareAddrLen {
		return nil, fmt.Errorf("encode: %w: %d bytes", ErrHardwareAddr, len(p.HardwareAddr))
	}
	ms := p.Interval.Milliseconds()
	if ms <= 0 || ms > int64(^uint32(0)) {
		return nil, fmt.Errorf("encode: %w or out of range: %v", ErrInterval, p.Interval)
	}
	var flags uint8
	if auth {
		flags |= flagAuth
	}
	if len(p.HardwareAddr) > 0 {
		flags |= flagHardwareAddr
	}
	if p.Unhealthy {
		if p.Type != Heartbeat {
			return nil, fmt.Errorf("encode: %w: only a heartbeat says unhealthy", ErrFlags)
		}
		flags |= flagUnhealthy
		if p.Yielded {
			flags |= flagYielded
		}
	} else if p.Yielded {
		return nil, fmt.Errorf("encode: %w: yielded without unhealthy", ErrFlags)
	}
	b = append(b, Magic...)
	b = append(b, Version, uint8(p.Type), flags, uint8(len(p.Sender)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Message)))
	b = binary.BigEndian.AppendUint32(b, uint32(ms))
	b = binary.BigEndian.AppendUint64(b, p.Epoch)
	b = binary.BigEndian.AppendUint64(b, p.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(p.SentAt.UnixNano()))
	b = append(b, p.Sender...)
	b = append(b, p.Message...)
	if len(p.HardwareAddr) > 0 {
		b = append(b, uint8(len(p.HardwareAddr)))
		b = append(b, p.HardwareAddr...)
	}
	return b, nil
}

// bodyLen is the length of p's encoding without the trailer.
func bodyLen(p *Packet) int {
	n := HeaderLen + len(p.Sender) + len(p.Message)
	if len(p.HardwareAddr) > 0 {
		n += 1 + len(p.HardwareAddr)
	}
	return n
}

// Encode returns the packet without authentication.
func Encode(p *Packet) ([]byte, error) {
	return appendBody(make([]byte, 0, bodyLen(p)), p, false)
}

// Decode parses b strictly. It never panics, whatever b holds. It does not
// verify the authentication tag; use Keyring.Open for that.
func Decode(b []byte) (Packet, error) {
	var p Packet
	if len(b) < HeaderLen {
		return p, ErrTruncated
	}
	if string(b[0:4]) != Magic {
		return p, ErrBadMagic
	}
	if b[4] != Version {
		return p, fmt.Errorf("%w: %d", ErrVersion, b[4])
	}
	p.Type = Type(b[5])
	if !validType(p.Type) {
		return p, fmt.Errorf("%w: %d", ErrType, b[5])
	}
	flags := b[6]
	if flags&^knownFlags != 0 || (flags&flagUnhealthy != 0 && p.Type != Heartbeat) ||
		(flags&flagYielded != 0 && flags&flagUnhealthy == 0) {
		return p, fmt.Errorf("%w: %#x", ErrFlags, flags)
	}
	p.Unhealthy, p.Yielded = flags&flagUnhealthy != 0, flags&flagYielded != 0
	senderLen := int(b[7])
	msgLen := int(binary.BigEndian.Uint16(b[8:10]))
	if senderLen == 0 || senderLen > MaxSenderLen {
		return p, ErrSender
	}
	if msgLen > MaxMessageLen {
		return p, ErrMessage
	}
	want := HeaderLen + senderLen + msgLen
	hwLen := 0
	if flags&flagHardwareAddr != 0 {
		if len(b) <= want {
			return p, ErrTruncated
		}
		hwLen = int(b[want])
		if hwLen == 0 || hwLen > MaxHardwareAddrLen {
			return p, ErrHardwareAddr
		}
		want += 1 + hwLen
	}
	if flags&flagAuth != 0 {
		want += TrailerLen
	}
	if len(b) < want {
		return p, ErrTruncated
	}
	if len(b) != want {
		return p, ErrLength
	}
	ms := binary.BigEndian.Uint32(b[10:14])
	if ms == 0 {
		return p, ErrInterval
	}
	p.Interval = time.Duration(ms) * time.Millisecond
	p.Epoch = binary.BigEndian.Uint64(b[14:22])
	p.Seq = binary.BigEndian.Uint64(b[22:30])
	p.SentAt = time.Unix(0, int64(binary.BigEndian.Uint64(b[30:38])))
	sender := b[HeaderLen : HeaderLen+senderLen]
	msg := b[HeaderLen+senderLen : HeaderLen+senderLen+msgLen]
	if !utf8.Valid(sender) {
		return p, ErrSender
	}
	if !utf8.Valid(msg) {
		return p, ErrMessage
	}
	p.Sender = string(sender)
	p.Message = string(msg)
	if hwLen > 0 {
		// A copy: receivers read into buffers they reuse.
		hw := HeaderLen + senderLen + msgLen + 1
		p.HardwareAddr = net.HardwareAddr(bytes.Clone(b[hw : hw+hwLen]))
	}
	if flags&flagAuth != 0 {
		p.Authenticated = true
		p.KeyID = binary.BigEndian.Uint32(b[want-TrailerLen:])
	}
	return p, nil
}
