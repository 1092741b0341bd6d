package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testKey(t testing.TB) Key {
	k, err := NewKey(testSecret, "test")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleMAC is from the range RFC 7042 sets aside for documentation.
var sampleMAC = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x01}

func samplePacket() Packet {
	return Packet{
		Type:     Heartbeat,
		Sender:   "server1",
		Epoch:    0x0102030405060708,
		Seq:      42,
		Interval: time.Second,
		SentAt:   time.Unix(1700000000, 123456789),
		Message:  "heartbeat",
	}
}

// readGolden reads a hex file (whitespace and #-comments ignored).
func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var clean strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func writeGolden(t *testing.T, name, comment string, b []byte) {
	t.Helper()
	var s strings.Builder
	s.WriteString("# " + comment + "\n")
	for i := 0; i < len(b); i += 16 {
		s.WriteString(hex.EncodeToString(b[i:min(i+16, len(b))]) + "\n")
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenVectors(t *testing.T) {
	plain := samplePacket()
	signed := samplePacket()
	signed.Type = Goodbye
	signed.Message = ""
	withMAC := samplePacket()
	withMAC.HardwareAddr = sampleMAC
	cases := []struct {
		file, comment string
		p             Packet
		keys          *Keyring
	}{
		{"heartbeat_plain.hex", "heartbeat, no key, sender server1, seq 42, interval 1s, message heartbeat", plain, NewKeyring()},
		{"goodbye_signed.hex", "goodbye signed with key 0123456789abcdef0123456789abcdef (ASCII)", signed, NewKeyring(testKey(t))},
		{"heartbeat_mac_signed.hex", "heartbeat_plain's packet from MAC 00:00:5e:00:53:01, signed with goodbye_signed's key", withMAC, NewKeyring(testKey(t))},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := c.keys.Seal(&c.p)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				writeGolden(t, c.file, c.comment, got)
			}
			want := readGolden(t, c.file)
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding changed:\n got %x\nwant %x", got, want)
			}
			back, err := c.keys.Open(want)
			if err != nil {
				t.Fatalf("golden packet does not open: %v", err)
			}
			if back.Type != c.p.Type || back.Seq != c.p.Seq || back.Sender != c.p.Sender ||
				back.Message != c.p.Message || !back.SentAt.Equal(c.p.SentAt) || back.Interval != c.p.Interval ||
				!bytes.Equal(back.HardwareAddr, c.p.HardwareAddr) || (back.HardwareAddr == nil) != (c.p.HardwareAddr == nil) {
				t.Fatalf("decoded %+v, want %+v", back, c.p)
			}
		})
	}
}

// The header layout documented in packet.go, checked field by field.
func TestHeaderLayout(t *testing.T) {
	b := readGolden(t, "heartbeat_plain.hex")
	if string(b[:4]) != "IPFO" || b[4] != 1 || b[5] != 1 || b[6] != 0 || b[7] != 7 {
		t.Fatalf("header start % x", b[:8])
	}
	if b[8] != 0 || b[9] != 9 { // message length 9
		t.Fatalf("message length % x", b[8:10])
	}
	if !bytes.Equal(b[10:14], []byte{0, 0, 0x03, 0xe8}) { // 1000 ms
		t.Fatalf("interval % x", b[10:14])
	}
	if string(b[38:45]) != "server1" || string(b[45:]) != "heartbeat" {
		t.Fatalf("sender/message %q", b[38:])
	}
	// The same packet with a hardware address: flag bit 3, and after the
	// message its length and bytes, then the trailer.
	m := readGolden(t, "heartbeat_mac_signed.hex")
	if m[6] != 0x09 || !bytes.Equal(m[:6], b[:6]) || !bytes.Equal(m[7:54], b[7:]) {
		t.Fatalf("header or body differs from heartbeat_plain's but for flags 0x09:\n% x\n% x", m[:54], b)
	}
	if m[54] != 6 || !bytes.Equal(m[55:61], sampleMAC) || len(m) != 61+TrailerLen {
		t.Fatalf("hardware address % x, packet length %d", m[54:61], len(m))
	}
}

func TestRoundTripAllTypes(t *testing.T) {
	kr := NewKeyring(testKey(t))
	for _, typ := range []Type{Heartbeat, Goodbye, Released, Holding} {
		p := samplePacket()
		p.Type = typ
		p.Message = strings.Repeat("x", MaxMessageLen)
		p.Sender = strings.Repeat("s", MaxSenderLen)
		p.HardwareAddr = bytes.Repeat([]byte{0xa5}, MaxHardwareAddrLen)
		p.Interval = 10 * time.Millisecond
		b, err := kr.Seal(&p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != MaxPacketLen {
			t.Fatalf("len %d, want %d", len(b), MaxPacketLen)
		}
		got, err := kr.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != typ || got.Message != p.Message || got.Sender != p.Sender || got.Interval != p.Interval ||
			!bytes.Equal(got.HardwareAddr, p.HardwareAddr) || !got.Authenticated || got.KeyID != kr.keys[0].ID {
			t.Fatalf("round trip of %v lost data: %+v", typ, got)
		}
	}
}

func TestEncodeRejectsBadFields(t *testing.T) {
	for name, mut := range map[string]func(*Packet){
		"no sender":     func(p *Packet) { p.Sender = "" },
		"long sender":   func(p *Packet) { p.Sender = strings.Repeat("a", MaxSenderLen+1) },
		"long message":  func(p *Packet) { p.Message = strings.Repeat("a", MaxMessageLen+1) },
		"zero interval": func(p *Packet) { p.Interval = 0 },
		"sub-ms":        func(p *Packet) { p.Interval = time.Microsecond },
		"bad type":      func(p *Packet) { p.Type = 9 },
		"long hardware address": func(p *Packet) {
			p.HardwareAddr = make(net.HardwareAddr, MaxHardwareAddrLen+1)
		},
	} {
		p := samplePacket()
		mut(&p)
		if _, err := Encode(&p); err == nil {
			t.Errorf("%s: encoded without error", name)
		}
	}
}

func TestDecodeRejections(t *testing.T) {
	good := readGolden(t, "heartbeat_plain.hex")
	signed := readGolden(t, "goodbye_signed.hex")
	withMAC := readGolden(t, "heartbeat_mac_signed.hex")
	const hwAt = HeaderLen + len("server1") + len("heartbeat") // its length byte
	mod := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:HeaderLen-1], ErrTruncated},
		{"truncated message", good[:len(good)-1], ErrTruncated},
		{"truncated tag", signed[:len(signed)-1], ErrTruncated},
		{"trailing garbage", append(bytes.Clone(good), 0), ErrLength},
		{"bad magic", mod(good, func(b []byte) []byte { b[0] = 'X'; return b }), ErrBadMagic},
		{"bare text (original protocol)", []byte("heartbeat"), ErrTruncated},
		{"version 2", mod(good, func(b []byte) []byte { b[4] = 2; return b }), ErrVersion},
		// A header alone is long enough to say it is of a newer
		// protocol: the drop is counted as such, not as truncated.
		{"version 2, its header alone", mod(good[:HeaderLen], func(b []byte) []byte { b[4] = 2; return b }), ErrVersion},
		{"type 0", mod(good, func(b []byte) []byte { b[5] = 0; return b }), ErrType},
		{"type 6", mod(good, func(b []byte) []byte { b[5] = 6; return b }), ErrType},
		{"unknown flag", mod(good, func(b []byte) []byte { b[6] = 0x10; return b }), ErrFlags},
		{"hardware address flag, no address", mod(good, func(b []byte) []byte { b[6] = 8; return b }), ErrTruncated},
		{"hardware address length 0", mod(withMAC, func(b []byte) []byte { b[hwAt] = 0; return b }), ErrHardwareAddr},
		{"hardware address length 21", mod(withMAC, func(b []byte) []byte { b[hwAt] = 21; return b }), ErrHardwareAddr},
		{"hardware address longer than the packet", mod(withMAC, func(b []byte) []byte { b[hwAt] = 20; return b }), ErrTruncated},
		{"hardware address shorter than its length", mod(withMAC, func(b []byte) []byte { b[hwAt] = 5; return b }), ErrLength},
		{"hardware address truncated", withMAC[:hwAt+4], ErrTruncated},
		{"hardware address flag cleared", mod(withMAC, func(b []byte) []byte { b[6] &^= 8; return b }), ErrLength},
		{"yielded without unhealthy", mod(good, func(b []byte) []byte { b[6] = 4; return b }), ErrFlags},
		{"unhealthy goodbye", mod(good, func(b []byte) []byte { b[5], b[6] = byte(Goodbye), 2; return b }), ErrFlags},
		{"sender length 0", mod(good, func(b []byte) []byte { b[7] = 0; return b }), ErrSender},
		{"sender length 65", mod(good, func(b []byte) []byte { b[7] = 65; return b }), ErrSender},
		{"message length 1025", mod(good, func(b []byte) []byte { b[8], b[9] = 4, 1; return b }), ErrMessage},
		{"zero interval", mod(good, func(b []byte) []byte { copy(b[10:14], []byte{0, 0, 0, 0}); return b }), ErrInterval},
		{"sender not UTF-8", mod(good, func(b []byte) []byte { b[HeaderLen] = 0xff; return b }), ErrSender},
	}
	for _, c := range cases {
		if _, err := Decode(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	key := testKey(t)
	other, err := NewKey([]byte("another secret of enough length"), "other")
	if err != nil {
		t.Fatal(err)
	}
	signer := NewKeyring(key)
	p := samplePacket()
	signed, err := signer.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Encode(&p)

	flipped := bytes.Clone(signed)
	flipped[len(flipped)-1] ^= 1
	tampered := bytes.Clone(signed)
	tampered[HeaderLen] = 'S' // sender "Server1"
	wrongKey, _ := NewKeyring(other).Seal(&p)

	cases := []struct {
		name string
		kr   *Keyring
		b    []byte
		want error
	}{
		{"good tag", signer, signed, nil},
		{"rotation: old key second", NewKeyring(other, key), signed, nil},
		{"bad tag", signer, flipped, ErrBadTag},
		{"tampered body", signer, tampered, ErrBadTag},
		{"unsigned with key configured", signer, plain, ErrNoAuth},
		{"unknown key id", signer, wrongKey, ErrUnknownKey},
		{"no key configured accepts unsigned", NewKeyring(), plain, nil},
	}
	for _, c := range cases {
		if _, err := c.kr.Open(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestReplayGuard(t *testing.T) {
	now := time.Unix(1700000000, 0)
	const priv, pub = 0, 1
	pkt := func(epoch, seq uint64, sent time.Time) *Packet {
		return &Packet{Type: Heartbeat, Sender: "server1", Epoch: epoch, Seq: seq, Interval: time.Second, SentAt: sent}
	}
	at := func(d time.Duration) time.Time { return now.Add(d) }
	g := NewReplayGuard(0)
	steps := []struct {
		name string
		p    *Packet
		link int
		at   time.Time
		want error
	}{
		{"first packet, fresh", pkt(1, 1, now), priv, at(time.Millisecond), nil},
		{"its copy on the other link", pkt(1, 1, now), pub, at(2 * time.Millisecond), nil},
		{"the copy again on the same link", pkt(1, 1, now), pub, at(3 * time.Millisecond), ErrReplay},
		{"next sequence", pkt(1, 2, at(time.Second)), priv, at(time.Second + time.Millisecond), nil},
		{"replayed on its link", pkt(1, 2, at(time.Second)), priv, at(2 * time.Second), ErrReplay},
		{"replayed on the other link, late", pkt(1, 2, at(time.Second)), pub, at(3 * time.Second), ErrReplay},
		{"gap is fine", pkt(1, 10, at(3*time.Second)), priv, at(3*time.Second + time.Millisecond), nil},
		{"lost on every link, overtaken just now", pkt(1, 9, at(3*time.Second-time.Millisecond)), pub, at(3*time.Second + 2*time.Millisecond), nil},
		{"never seen, below the highest, long after it", pkt(1, 8, at(3*time.Second-2*time.Millisecond)), pub, at(5 * time.Second), ErrReplay},
		{"held back and released late", pkt(1, 11, at(4*time.Second)), pub, at(10 * time.Second), ErrDelayed},
		{"on time again", pkt(1, 12, at(10*time.Second)), priv, at(10*time.Second + time.Millisecond), nil},
		{"new epoch with stale time", pkt(2, 1, now.Add(-time.Minute)), priv, at(11 * time.Second), ErrStaleEpoch},
		{"new epoch from the future", pkt(2, 1, now.Add(time.Hour)), priv, at(11 * time.Second), ErrStaleEpoch},
		{"restart: new epoch, fresh", pkt(2, 1, at(12*time.Second)), priv, at(12 * time.Second), nil},
		{"old epoch replayed while fresh", pkt(1, 13, at(12*time.Second)), priv, at(12 * time.Second), ErrRetired},
		{"new epoch continues", pkt(2, 2, at(13*time.Second)), pub, at(13 * time.Second), nil},
	}
	for _, s := range steps {
		if err := g.Check(s.p, s.link, s.at); !errors.Is(err, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.want)
		}
	}
	// Another sender has its own state.
	other := pkt(1, 1, at(13*time.Second))
	other.Sender = "server3"
	if err := g.Check(other, priv, at(13*time.Second)); err != nil {
		t.Fatalf("second sender: %v", err)
	}
}

// Slow clock drift, and a receiver that lags behind now and then, are not
// mistaken for packets held back.
func TestReplayGuardDriftAndJitter(t *testing.T) {
	g := NewReplayGuard(0)
	start := time.Unix(1700000000, 0)
	const interval = 10 * time.Millisecond
	// The sender's clock runs 50 ppm slow for a day, in 10 ms steps.
	for i := range uint64(24 * 360_000 / 100) { // one packet a second of the day
		sent := start.Add(time.Duration(i) * time.Second)
		arrive := sent.Add(time.Duration(i) * time.Second / 20_000) // 50 ppm
		if i%7 == 0 {
			arrive = arrive.Add(200 * time.Millisecond) // the receiver was busy
		}
		p := &Packet{Sender: "server1", Epoch: 1, Seq: i + 1, Interval: interval, SentAt: sent}
		if err := g.Check(p, 0, arrive); err != nil {
			t.Fatalf("packet %d (%v into the day): %v", i, time.Duration(i)*time.Second, err)
		}
	}
}

// A flood of made-up sender names does not grow the guard without bound.
func TestReplayGuardForgetsSenders(t *testing.T) {
	g := NewReplayGuard(0)
	now := time.Unix(1700000000, 0)
	for i := range 10_000 {
		p := &Packet{Sender: fmt.Sprintf("forged-%d", i), Epoch: uint64(i), Seq: 1, Interval: time.Second, SentAt: now}
		if err := g.Check(p, 0, now.Add(time.Duration(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(g.senders); n > maxSenders {
		t.Fatalf("%d senders remembered", n)
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hexKey := write("hex", []byte("00112233445566778899aabbccddeeff\n"), 0o600)
	k1, err := LoadKeyFile(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKey([]byte("00112233445566778899aabbccddeeff"), "x")
	if k1.ID != k2.ID || !bytes.Equal(k1.Secret, k2.Secret) {
		t.Fatal("a trailing newline must not be part of the secret")
	}
	if _, err := LoadKeyFile(write("short", []byte("tooshort\n"), 0o600)); err == nil || !strings.Contains(err.Error(), "at least 16 bytes") ||
		!strings.Contains(err.Error(), "failoverctl keygen") {
		t.Fatalf("short key: the message should say how to make a good key (failoverctl keygen): %v", err)
	}
	_, err = LoadKeyFile(write("open", []byte("00112233445566778899aabbccddeeff"), 0o644))
	if !errors.Is(err, ErrKeyPermissions) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable key: %v", err)
	}
	if _, err := LoadKeyFile(write("group", []byte("00112233445566778899aabbccddeeff"), 0o640)); !errors.Is(err, ErrKeyPermissions) {
		t.Fatalf("0640 key: %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing key: %v", err)
	}
}

// An unhealthy heartbeat says so through encoding, and its flag is
// authenticated with the rest.
func TestUnhealthyRoundTrip(t *testing.T) {
	k, err := NewKey([]byte("a key of thirty-two bytes, fine."), "test")
	if err != nil {
		t.Fatal(err)
	}
	kr := NewKeyring(k)
	p := Packet{Type: Heartbeat, Sender: "server1", Epoch: 1, Seq: 1, Interval: time.Second, SentAt: time.Unix(1_800_000_000, 0),
		Unhealthy: true, Message: "service checks fail: Check10.http: exit 22"}
	b, err := kr.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kr.Open(b)
	if err != nil || !got.Unhealthy || got.Message != p.Message {
		t.Fatalf("opened %+v, %v", got, err)
	}
	b[6] &^= 2 // a forger clears the flag
	if _, err := kr.Open(b); err == nil {
		t.Fatal("a heartbeat whose unhealthy flag was cleared still opened")
	}
	if _, err := Encode(&Packet{Type: Released, Sender: "s", Interval: time.Second, Unhealthy: true}); err == nil {
		t.Fatal("a released packet encoded as unhealthy")
	}
}

// The hardware address is signed with the rest: a forger can neither
// change it, nor strip it, nor add one to a packet that had none.
func TestHardwareAddrAuthenticated(t *testing.T) {
	kr := NewKeyring(testKey(t))
	p := samplePacket()
	p.HardwareAddr = sampleMAC
	b, err := kr.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kr.Open(b)
	if err != nil || !bytes.Equal(got.HardwareAddr, sampleMAC) || got.HardwareAddr.String() != "00:00:5e:00:53:01" {
		t.Fatalf("opened %v, %v", got.HardwareAddr, err)
	}
	hwAt := HeaderLen + len(p.Sender) + len(p.Message)
	for i := range sampleMAC {
		forged := bytes.Clone(b)
		forged[hwAt+1+i] ^= 0x02
		if _, err := kr.Open(forged); !errors.Is(err, ErrBadTag) {
			t.Errorf("MAC byte %d changed: got %v, want %v", i, err, ErrBadTag)
		}
	}
	stripped := append(bytes.Clone(b[:hwAt]), b[hwAt+1+len(sampleMAC):]...)
	stripped[6] &^= flagHardwareAddr
	if _, err := kr.Open(stripped); !errors.Is(err, ErrBadTag) {
		t.Errorf("MAC stripped: got %v, want %v", err, ErrBadTag)
	}
	p.HardwareAddr = nil
	without, err := kr.Seal(&p)
	if err != nil {
		t.Fatal(err)
	}
	added := append(bytes.Clone(without[:hwAt]), 6)
	added = append(append(added, sampleMAC...), without[hwAt:]...)
	added[6] |= flagHardwareAddr
	if _, err := kr.Open(added); !errors.Is(err, ErrBadTag) {
		t.Errorf("MAC added: got %v, want %v", err, ErrBadTag)
	}
}

// A packet without the field decodes as before it existed: no hardware
// address, nil rather than empty.
func TestNoHardwareAddr(t *testing.T) {
	for _, name := range []string{"heartbeat_plain.hex", "goodbye_signed.hex"} {
		p, err := Decode(readGolden(t, name))
		if err != nil || p.HardwareAddr != nil {
			t.Errorf("%s: %v, hardware address %#v", name, err, p.HardwareAddr)
		}
	}
}

// Decode copies the address: receivers reuse their read buffers.
func TestHardwareAddrIsACopy(t *testing.T) {
	b := readGolden(t, "heartbeat_mac_signed.hex")
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !bytes.Equal(p.HardwareAddr, sampleMAC) {
		t.Fatalf("hardware address %v after the buffer was reused", p.HardwareAddr)
	}
}
