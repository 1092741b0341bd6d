package lab

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Round is one request of an ARP watch and who answered it.
type Round struct {
	At   time.Time // the request went out
	End  time.Time // the next one did (or the watch stopped)
	MACs []string  // every MAC that answered this request, first answer first
}

// ARPWatch asks the link who has an address, over and over, and keeps
// every answer: the client's view of the project's first promise, that no
// two servers ever answer for one address.
//
// Each request goes out from a MAC of its own, the round's number in its
// last byte, and answers come back to that MAC: an answer that arrives
// late, after the next request, still counts for the round that asked,
// and cannot make two owners in succession look like two at once.
type ARPWatch struct {
	stop, done chan struct{}
	close      func() // closes the socket, which ends the receiver

	mu     sync.Mutex // held by the methods named …Locked
	rounds []Round    // the last one is open (no End) while the watch runs
}

// request opens a new round and returns its number's last byte, which
// its request carries.
func (w *ARPWatch) request(now time.Time) byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked(now)
	w.rounds = append(w.rounds, Round{At: now})
	return byte(len(w.rounds) - 1)
}

// endLocked closes the open round, if any.
func (w *ARPWatch) endLocked(now time.Time) {
	if n := len(w.rounds); n > 0 && w.rounds[n-1].End.IsZero() {
		w.rounds[n-1].End = now
	}
}

// answer records mac, once, in the latest round whose number ends in
// round: the one that asked, unless the answer is 256 rounds late.
func (w *ARPWatch) answer(round byte, mac string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.rounds) - 1; i >= 0 && i >= len(w.rounds)-256; i-- {
		if byte(i) == round {
			if !slices.Contains(w.rounds[i].MACs, mac) {
				w.rounds[i].MACs = append(w.rounds[i].MACs, mac)
			}
			return
		}
	}
}

// Stop ends the watch; the last round ends now.
func (w *ARPWatch) Stop() {
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	w.close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked(time.Now())
}

// Rounds returns the rounds that have ended.
func (w *ARPWatch) Rounds() []Round {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Round
	for _, r := range w.rounds {
		if !r.End.IsZero() {
			r.MACs = slices.Clone(r.MACs)
			out = append(out, r)
		}
	}
	return out
}

// between returns the ended rounds whose request went out in [since, until).
func (w *ARPWatch) between(since, until time.Time) []Round {
	rs := w.Rounds()
	return slices.DeleteFunc(rs, func(r Round) bool { return r.At.Before(since) || !r.At.Before(until) })
}

// Dual counts the rounds from since to until that two or more MACs
// answered, and the time they span (the sum of their lengths): how long
// two hosts answered for the address at once, to within a round.
func (w *ARPWatch) Dual(since, until time.Time) (rounds int, span time.Duration) {
	for _, r := range w.between(since, until) {
		if len(r.MACs) > 1 {
			rounds++
			span += r.End.Sub(r.At)
		}
	}
	return rounds, span
}

// Owners lists, sorted, every MAC that answered from since to until.
func (w *ARPWatch) Owners(since, until time.Time) []string {
	var out []string
	for _, r := range w.between(since, until) {
		for _, m := range r.MACs {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Lengths of the frame's parts: the Ethernet header, the Ethernet/IPv4
// ARP packet.
const (
	ethLen = 14
	arpLen = 28
)

// arpProbe builds the Ethernet frame of an RFC 5227 ARP probe for target
// from mac: a broadcast who-has with sender address 0.0.0.0, which a
// host holding target answers to mac, and from which no host learns a
// neighbour.
func arpProbe(mac net.HardwareAddr, target netip.Addr) []byte {
	return ARPFrame(ARPRequest, mac, netip.IPv4Unspecified(), make(net.HardwareAddr, 6), target, EthernetBroadcast)
}

// arpAnswer reads b as an Ethernet frame holding an ARP reply and returns
// the MAC that says it has target, to a MAC that is base but for its last
// byte, and that byte; ok is false for anything else (requests,
// announcements, answers to others, other addresses).
func arpAnswer(b []byte, base net.HardwareAddr, target netip.Addr) (from string, to byte, ok bool) {
	if len(b) < ethLen+arpLen || binary.BigEndian.Uint16(b[12:14]) != 0x0806 {
		return "", 0, false
	}
	a := b[ethLen:]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != 0x0800 ||
		a[4] != 6 || a[5] != 4 || binary.BigEndian.Uint16(a[6:8]) != 2 {
		return "", 0, false
	}
	if sender, _ := netip.AddrFromSlice(a[14:18]); sender != target || !bytes.Equal(a[18:23], base[:5]) {
		return "", 0, false
	}
	return net.HardwareAddr(a[8:14]).String(), a[23], true
}
