package monitor

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// Packets from the primary's own addresses that fail authentication are
// dropped and counted as before, and also delivered as dropped (at most
// one each refusedEvery per link, unless what they carry changes), with
// how they stand with the keys, which the link's counters keep: the
// primary is heard, but not authenticated. From anywhere else they are
// only counted.
func TestRefusedPacketsFromThePrimarysAddressesAreDeliveredAsDropped(t *testing.T) {
	here := key(t, "0123456789abcdef0123")
	there := key(t, "another key of 20 b")
	m, _ := testMonitor(t, here, false)
	m.cfg.PeerNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	at := now
	h, ok := m.accept(packet(t, there, 1, 1, at), 2, primaryPriv, at)
	if ok || h.Dropped != wire.DropBadTag || h.Link != "priv0" || h.Auth.State() != wire.AuthRefused || h.Auth.KeyID != there.IDs()[0] {
		t.Fatalf("a packet signed with another key from the primary's address: %+v, %v", h, ok)
	}
	if a := m.Stats()["priv0"].Auth; a.State() != wire.AuthRefused || a.KeyID != there.IDs()[0] || a.Keys[0] != here.IDs()[0] {
		t.Fatalf("priv0's counters keep %+v", a)
	}
	if d := m.Stats()["priv0"].Dropped[wire.DropBadTag]; d != 1 {
		t.Fatalf("bad-tag drops %d, want 1", d)
	}
	if h, _ := m.accept(packet(t, there, 1, 2, at), 2, primaryPriv, at.Add(refusedEvery/2)); h.Dropped != "" {
		t.Fatalf("a second like it within %v was delivered: %+v", refusedEvery, h)
	}
	if h, _ := m.accept(packet(t, wire.NewKeyring(), 1, 3, at), 2, primaryPriv, at.Add(refusedEvery/2)); h.Dropped != wire.DropBadTag || h.Auth.Signed {
		t.Fatalf("an unsigned one (it changed) within %v was not delivered: %+v", refusedEvery, h)
	}
	if h, _ := m.accept(packet(t, there, 1, 4, at), 2, primaryPriv, at.Add(2*refusedEvery)); h.Dropped != wire.DropBadTag {
		t.Fatalf("one %v later was not delivered: %+v", 2*refusedEvery, h)
	}
	if h, _ := m.accept(packet(t, there, 1, 5, at), 3, netip.MustParseAddr("198.51.100.7"), at); h.Dropped != "" || m.Stats()["pub0"].Auth.State() != wire.AuthNone {
		t.Fatalf("one from the subnet, not the primary's own address, was delivered or kept: %+v, %+v", h, m.Stats()["pub0"].Auth)
	}
	if h, ok := m.accept(packet(t, here, 1, 1, at), 3, primaryPub, at.Add(time.Second)); !ok || h.Auth.State() != wire.AuthAuthenticated {
		t.Fatalf("a packet signed with the key here: %+v, %v", h, ok)
	}
	if a := m.Stats()["pub0"].Auth; a.State() != wire.AuthAuthenticated {
		t.Fatalf("pub0's counters keep %+v after an authenticated packet", a)
	}
}

// Without a key here, a signed packet is accepted unchecked, and the
// link's counters say so.
func TestASignedPacketAcceptedWithoutAKeyHereIsUnchecked(t *testing.T) {
	m, _ := testMonitor(t, wire.NewKeyring(), false)
	there := key(t, "another key of 20 b")
	h, ok := m.accept(packet(t, there, 1, 1, now), 2, primaryPriv, now)
	if !ok || h.Auth.State() != wire.AuthUnchecked || !h.Auth.Signed || !h.Auth.Mismatch() {
		t.Fatalf("a signed packet without a key here: %+v, %v", h, ok)
	}
	if a := m.Stats()["priv0"].Auth; a.State() != wire.AuthUnchecked || !a.Signed || a.KeyID != there.IDs()[0] {
		t.Fatalf("priv0's counters keep %+v", a)
	}
}

// A flood from the primary's own address whose packets each carry
// another key id (or alternate between unsigned, signed and junk) is
// handed on no faster than one like it: at most one each refusedEvery
// per link, and one more each refusedPassEvery for a change of kind.
// Before, every packet whose key id differed from the last was
// delivered: 1000 of 1000 within 10 ms.
func TestAFloodOfVariedRefusedPacketsIsDeliveredAtTheLimit(t *testing.T) {
	here := key(t, "0123456789abcdef0123")
	forged := func(i int) []byte {
		switch i % 4 {
		case 0:
			return packet(t, wire.NewKeyring(), 1, uint64(i+1), now)
		case 1:
			return []byte("junk junk junk")
		}
		return packet(t, key(t, fmt.Sprintf("attacker key %08d....", i)), 1, uint64(i+1), now)
	}
	for _, c := range []struct {
		n    int
		gap  time.Duration
		most int
	}{
		{1000, 10 * time.Microsecond, 2},    // 10 ms: one, and one pass for a change
		{1000, time.Millisecond, 100/1 + 4}, // a second: one each 10 ms, four passes
	} {
		m, _ := testMonitor(t, here, false)
		at, delivered := now, 0
		for i := range c.n {
			if h, _ := m.accept(forged(i), 2, primaryPriv, at); h.Dropped != "" {
				delivered++
			}
			at = at.Add(c.gap)
		}
		t.Logf("%d varied forged packets in %v: %d delivered", c.n, at.Sub(now), delivered)
		if delivered == 0 || delivered > c.most {
			t.Errorf("%d varied forged packets in %v: %d delivered, want 1 to %d", c.n, at.Sub(now), delivered, c.most)
		}
		if d := m.Stats()["priv0"].Dropped; d[wire.DropBadTag]+d[wire.DropMalformed] != uint64(c.n) {
			t.Errorf("%d forged packets, counted %v", c.n, d)
		}
	}
}
