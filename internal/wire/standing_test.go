package wire

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// How a packet stands with the keys here, in words, for each way the two
// ends can be set up: a refused packet names the key ids on both sides,
// and so does Open's error (the log line of the drop).
func TestStandingNamesTheKeyIDsOnBothSides(t *testing.T) {
	key := testKey(t)
	other, err := NewKey([]byte("another secret of enough length"), "other")
	if err != nil {
		t.Fatal(err)
	}
	here, there := FormatKeyID(key.ID), FormatKeyID(other.ID)
	p := samplePacket()
	signed, _ := NewKeyring(key).Seal(&p)
	othered, _ := NewKeyring(other).Seal(&p)
	plain, _ := Encode(&p)
	flipped := bytes.Clone(signed)
	flipped[len(flipped)-1] ^= 1
	at := time.Unix(1700000000, 0)
	cases := []struct {
		name  string
		kr    *Keyring
		b     []byte
		state AuthState
		says  string
	}{
		{"the same key", NewKeyring(key), signed, AuthAuthenticated, "authenticated: key id " + here + " here, " + here + " in the packets"},
		{"different keys", NewKeyring(key), othered, AuthRefused, "heard, but not authenticated: key id " + here + " here, " + there + " in the packets"},
		{"a key here only", NewKeyring(key), plain, AuthRefused, "heard, but not authenticated: key id " + here + " here, none in the packets (unsigned)"},
		{"a key there only", NewKeyring(), othered, AuthUnchecked, "not authenticated: no key here, " + there + " in the packets"},
		{"no key on either side", NewKeyring(), plain, AuthUnchecked, "not authenticated: no key here, none in the packets"},
		{"the same key, a bad tag", NewKeyring(key), flipped, AuthRefused, "heard, but not authenticated: key id " + here + " here and in the packets, but their tag does not match"},
	}
	for _, c := range cases {
		p, err := c.kr.Open(c.b)
		s, ok := c.kr.Stand(p, err, at)
		if !ok {
			t.Errorf("%s: no standing for %v", c.name, err)
			continue
		}
		if s.State() != c.state || !strings.HasPrefix(s.String(), c.says) {
			t.Errorf("%s: %s, %q; want %s, %q", c.name, s.State(), s, c.state, c.says)
		}
		if mismatch := c.name != "the same key" && c.name != "no key on either side"; s.Mismatch() != mismatch {
			t.Errorf("%s: mismatch %v, want %v", c.name, s.Mismatch(), mismatch)
		}
		if err != nil && (!strings.Contains(err.Error(), "key id "+here+" here") || !strings.Contains(err.Error(), s.InPackets()+" in the packet")) {
			t.Errorf("%s: Open's error %q does not name the key ids here and in the packet", c.name, err)
		}
	}
	if (Standing{}).String() != "" || (Standing{}).State() != AuthNone {
		t.Errorf("no packet stands as %q, %q", Standing{}.State(), Standing{})
	}
}
