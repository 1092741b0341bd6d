package lab

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var (
	watchMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}
	roundMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x07} // the watch's, in round 7
	ownerMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	watchedIP  = netip.MustParseAddr(Server1Pub)
	otherIP    = netip.MustParseAddr(Server2Pub)
	zeroIP     = netip.IPv4Unspecified()
	broadcastM = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// frame builds an Ethernet ARP frame as a host would send it.
func frame(op byte, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := append(append(append([]byte{}, tha...), sha...), 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op)
	s, t := spa.As4(), tpa.As4()
	b = append(append(b, sha...), s[:]...)
	return append(append(b, tha...), t[:]...)
}

func TestARPProbeFrame(t *testing.T) {
	got := arpProbe(watchMAC, watchedIP)
	want := frame(1, watchMAC, zeroIP, net.HardwareAddr{0, 0, 0, 0, 0, 0}, watchedIP)
	copy(want[:6], broadcastM) // to everyone, though the ARP target MAC is unknown
	if !bytes.Equal(got, want) {
		t.Errorf("probe\n got %x\nwant %x", got, want)
	}
}

func TestARPAnswer(t *testing.T) {
	for _, c := range []struct {
		name  string
		frame []byte
		ok    bool
	}{
		{"the owner's answer", frame(2, ownerMAC, watchedIP, watchMAC, zeroIP), true},
		{"an answer to another round", frame(2, ownerMAC, watchedIP, roundMAC, zeroIP), true},
		{"an answer to someone else", frame(2, ownerMAC, watchedIP, broadcastM, watchedIP), false},
		{"an answer for another address", frame(2, ownerMAC, otherIP, watchMAC, zeroIP), false},
		{"a request", frame(1, ownerMAC, watchedIP, watchMAC, zeroIP), false},
		{"a short frame", frame(2, ownerMAC, watchedIP, watchMAC, zeroIP)[:41], false},
	} {
		mac, round, ok := arpAnswer(c.frame, watchMAC, watchedIP)
		if ok != c.ok || ok && (mac != ownerMAC.String() || round != c.frame[len(c.frame)-5]) {
			t.Errorf("%s: %q, round %d, %v; want %v", c.name, mac, round, ok, c.ok)
		}
	}
}

// Rounds, Dual and Owners from a timeline of requests and answers; an
// answer counts for the round that asked, however late.
func TestARPWatchRounds(t *testing.T) {
	w := &ARPWatch{}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r0 := w.request(at(0))
	w.answer(r0, "a")
	w.answer(r0, "a") // once per round
	r1 := w.request(at(5))
	w.answer(r1, "b")
	w.answer(r0, "a") // late
	r2 := w.request(at(10))
	w.answer(r1, "a") // late: a and b both answered round 1
	w.answer(r2, "b")
	w.answer(r2, "a")
	r3 := w.request(at(17))
	w.answer(r3, "b")
	if r0 == r1 || r1 == r2 {
		t.Fatalf("rounds numbered %d, %d, %d", r0, r1, r2)
	}
	rs := w.Rounds()
	if len(rs) != 3 || !slices.Equal(rs[0].MACs, []string{"a"}) || !slices.Equal(rs[1].MACs, []string{"b", "a"}) || rs[2].End != at(17) {
		t.Fatalf("rounds %v: want the three ended ones", rs)
	}
	if n, span := w.Dual(at(0), at(20)); n != 2 || span != 12*time.Millisecond {
		t.Errorf("Dual over all: %d rounds, %v; want 2, 12ms", n, span)
	}
	if n, span := w.Dual(at(6), at(20)); n != 1 || span != 7*time.Millisecond {
		t.Errorf("Dual from 6 ms: %d rounds, %v; want 1, 7ms", n, span)
	}
	if got := w.Owners(at(0), at(5)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Owners of the first round: %v", got)
	}
	if got := w.Owners(at(0), at(20)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Owners over all: %v", got)
	}
}

// Round numbers wrap at 256: an answer goes to the latest round of its
// number.
func TestARPWatchRoundNumbersWrap(t *testing.T) {
	w := &ARPWatch{}
	t0 := time.Unix(1000, 0)
	var first byte
	for i := range 300 {
		r := w.request(t0.Add(time.Duration(i) * time.Millisecond))
		if i == 0 {
			first = r
		}
	}
	w.answer(first, "a")
	w.request(t0.Add(time.Second))
	rs := w.Rounds()
	for i, r := range rs {
		if want := i == 256; (len(r.MACs) == 1) != want {
			t.Errorf("round %d: %v", i, r.MACs)
		}
	}
}
