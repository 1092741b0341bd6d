package wire

import (
	"testing"
	"time"
)

// FuzzDecode: whatever arrives on port 1694, decoding and opening must
// never panic, and anything Decode accepts must encode back to the same
// bytes.
func FuzzDecode(f *testing.F) {
	kr := NewKeyring(testKey(f))
	p := samplePacket()
	plain, _ := Encode(&p)
	signed, _ := kr.Seal(&p)
	p.HardwareAddr = sampleMAC
	plainMAC, _ := Encode(&p)
	signedMAC, _ := kr.Seal(&p)
	f.Add(plain)
	f.Add(signed)
	f.Add(plainMAC)
	f.Add(signedMAC)
	f.Add([]byte("heartbeat"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		_, _ = kr.Open(b)
		if err != nil {
			return
		}
		if got.Authenticated {
			return // the tag is opaque to Decode
		}
		again, err := Encode(&got)
		if err != nil {
			t.Fatalf("decoded packet does not encode: %v (%+v)", err, got)
		}
		if string(again) != string(b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		_ = NewReplayGuard(time.Second).Check(&got, 0, time.Unix(0, 0))
	})
}
