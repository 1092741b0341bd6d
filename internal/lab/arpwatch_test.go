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
		{"an answer to someone else", frame(2, ownerMAC, watchedIP, broadcastM, watchedIP), false},
		{"an answer for another address", frame(2, ownerMAC, otherIP, watchMAC, zeroIP), false},
		{"a request", frame(1, ownerMAC, watchedIP, watchMAC, zeroIP), false},
		{"a short frame", frame(2, ownerMAC, watchedIP, watchMAC, zeroIP)[:41], false},
	} {
		mac, ok := arpAnswer(c.frame, watchMAC, watchedIP)
		if ok != c.ok || ok && mac != ownerMAC.String() {
			t.Errorf("%s: %q, %v; want %v", c.name, mac, ok, c.ok)
		}
	}
}

// Rounds, Dual and Owners from a timeline of requests and answers.
func TestARPWatchRounds(t *testing.T) {
	w := &ARPWatch{}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	w.request(at(0))
	w.answer("a")
	w.answer("a") // once per round
	w.request(at(5))
	w.answer("a")
	w.answer("b")
	w.request(at(10))
	w.answer("b")
	w.answer("a")
	w.request(at(17))
	w.answer("b")
	if rs := w.Rounds(); len(rs) != 3 || !slices.Equal(rs[0].MACs, []string{"a"}) || rs[2].End != at(17) {
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
