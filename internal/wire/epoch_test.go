package wire

import (
	"errors"
	"testing"
	"time"
)

// A released or holding names the primary's epoch in its message, and
// it comes back as it went, signed with the rest.
func TestEpochMessageRoundTrips(t *testing.T) {
	kr := NewKeyring(testKey(t))
	for _, epoch := range []uint64{0, 1, 0x0102030405060708, ^uint64(0)} {
		msg := EpochMessage(epoch)
		if len(msg) != len("epoch=")+16 {
			t.Fatalf("%q: want epoch= and 16 hex digits", msg)
		}
		b, err := kr.Seal(&Packet{Type: Holding, Sender: "server2", Epoch: 9, Seq: 1, Interval: time.Second, SentAt: time.Now(), Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		p, err := kr.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		got, named, err := MessageEpoch(p.Message)
		if err != nil || !named || got != epoch {
			t.Fatalf("%q: epoch %x named %v err %v, want %x", p.Message, got, named, err, epoch)
		}
	}
	if got := EpochMessage(0xabc); got != "epoch=0000000000000abc" {
		t.Fatalf("EpochMessage(0xabc) = %q", got)
	}
}

// An empty message is an older failoverd's released: no epoch named, no
// error. Anything else not in the form is an error, counted malformed.
func TestMessageEpochRefusesOtherText(t *testing.T) {
	if e, named, err := MessageEpoch(""); e != 0 || named || err != nil {
		t.Fatalf("empty: %x %v %v, want none named", e, named, err)
	}
	for _, msg := range []string{"heartbeat", "epoch=", "epoch=123", "epoch=0102030405060708 ", "epoch=01020304050607089",
		"epoch=0102030405O60708", "epoch=0102030405ABCDEF", "Epoch=0102030405060708", "epoch=+102030405060708"} {
		e, named, err := MessageEpoch(msg)
		if err == nil || named || !errors.Is(err, ErrMessage) || ReasonOf(err) != DropMalformed {
			t.Errorf("%q: %x %v %v, want a malformed error", msg, e, named, err)
		}
	}
}

func TestOtherEpochIsItsOwnDropReason(t *testing.T) {
	if r := ReasonOf(ErrOtherEpoch); r != DropOtherEpoch {
		t.Fatalf("ReasonOf(ErrOtherEpoch) = %s", r)
	}
}
