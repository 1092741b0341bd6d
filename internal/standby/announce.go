package standby

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Priorities a standby may have; higher ranks first.
const (
	MinPriority     = 1
	MaxPriority     = 255
	DefaultPriority = 100
)

// Self is what a standby announces of itself.
type Self struct {
	Name     string
	Priority int
	// Holding: it holds the addresses (or is taking them).
	Holding bool
	// Eligible: it would take them now if the primary were gone: not
	// held by its operator, not vetoed by its Test, every link the
	// addresses are on with carrier, and hearing the answers to its
	// questions.
	Eligible bool
	// Addresses names the addresses it takes (Fingerprint): the
	// standbys of one primary take the same ones. Conn.Packet sets it.
	Addresses string
}

// Fingerprint names a set of addresses in an announcement: the first 8
// bytes, in hex, of the SHA-256 of the addresses sorted, one per line.
// Another pair's standbys, on the same LAN, take other addresses, and
// their announcements name another set.
func Fingerprint(addrs []netip.Addr) string {
	ss := make([]string, len(addrs))
	for i, a := range addrs {
		ss[i] = a.String()
	}
	slices.Sort(ss)
	ss = slices.Compact(ss)
	sum := sha256.Sum256([]byte(strings.Join(ss, "\n")))
	return hex.EncodeToString(sum[:8])
}

// Message is the announcement's message text:
// "priority=150 holding=no eligible=yes addresses=5d0c3b2a19e8f746".
func (s Self) Message() string {
	return fmt.Sprintf("priority=%d holding=%s eligible=%s addresses=%s", s.Priority, yesNo(s.Holding), yesNo(s.Eligible), s.Addresses)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

var errMessage = errors.New("not a standby announcement")

// ParseMessage reads what Message wrote, and nothing else: every field
// once, in any order.
func ParseMessage(name, msg string) (Self, error) {
	s := Self{Name: name}
	seen := map[string]bool{}
	for _, f := range strings.Fields(msg) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || seen[k] {
			return Self{}, fmt.Errorf("%w: %q", errMessage, msg)
		}
		seen[k] = true
		var err error
		switch k {
		case "priority":
			var n int
			n, err = strconv.Atoi(v)
			if err == nil && (n < MinPriority || n > MaxPriority) {
				err = errMessage
			}
			s.Priority = n
		case "holding":
			s.Holding, err = parseYesNo(v)
		case "eligible":
			s.Eligible, err = parseYesNo(v)
		case "addresses":
			s.Addresses = v
			if b, herr := hex.DecodeString(v); herr != nil || len(b) != 8 || v != strings.ToLower(v) {
				err = errMessage
			}
		default:
			err = errMessage
		}
		if err != nil {
			return Self{}, fmt.Errorf("%w: %q", errMessage, msg)
		}
	}
	if len(seen) != 4 {
		return Self{}, fmt.Errorf("%w: %q", errMessage, msg)
	}
	return s, nil
}

func parseYesNo(v string) (bool, error) {
	switch v {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, errMessage
}

// Above says a ranks above b: a higher priority, or the same one and a
// name that sorts first (two standbys of one priority are a
// configuration error that -n and a notice report; the names still
// order them, so that both never take).
func Above(a, b Self) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.Name < b.Name
}
