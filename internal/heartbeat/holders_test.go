package heartbeat

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

var (
	svcIP       = netip.MustParseAddr("198.51.100.1")
	secondaryHW = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	strangerHW  = net.HardwareAddr{2, 0, 0, 0, 0, 3}
	t0          = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
)

func answer(mac net.HardwareAddr, at time.Time) neighbor.Answer {
	return neighbor.Answer{At: at, Addr: svcIP, Interface: "pub0", MAC: mac}
}

func heldIs(v bool) func(netip.Addr) bool { return func(netip.Addr) bool { return v } }

// An answer is no authority: any MAC answering for a held address is a
// conflict, noticed once however often it answers, also the MAC that
// answered until the secondary's released.
func TestHoldersKeepAnAddressAnotherHostAnswersFor(t *testing.T) {
	for _, mac := range []net.HardwareAddr{strangerHW, secondaryHW} {
		h := &Holders{Patience: 10 * time.Second}
		h.Heard(answer(mac, t0), false)
		h.Released()
		h.Added(svcIP)
		c, ok := h.Heard(answer(mac, t0.Add(time.Minute)), true)
		if !ok || !c.Notice || c.MAC != mac.String() {
			t.Fatalf("first answer: %+v %v, want a noticed conflict", c, ok)
		}
		for i := 1; i < 5; i++ {
			c, ok = h.Heard(answer(mac, t0.Add(time.Minute+time.Duration(i)*time.Second)), true)
			if !ok || c.Notice {
				t.Fatalf("answer %d: %+v %v, want a conflict, not noticed again", i, c, ok)
			}
		}
		if _, ok := h.Heard(answer(mac, t0), false); ok {
			t.Fatal("a conflict for an address this host does not hold")
		}
	}
}

// A conflict ends when a question goes unanswered; the next answer is a
// new conflict, noticed again.
func TestHoldersConflictEndsWhenQuiet(t *testing.T) {
	h := &Holders{Patience: 10 * time.Second}
	h.Heard(answer(strangerHW, t0), true)
	if ended := h.Settle(time.Time{}, heldIs(true)); len(ended) != 0 {
		t.Fatalf("ended %+v with no question asked", ended)
	}
	if ended := h.Settle(t0.Add(-time.Millisecond), heldIs(true)); len(ended) != 0 {
		t.Fatalf("ended %+v though it answered the question", ended)
	}
	ended := h.Settle(t0.Add(2*time.Second), heldIs(true))
	if len(ended) != 1 || ended[0].MAC != strangerHW.String() {
		t.Fatalf("ended %+v, want the stranger's conflict", ended)
	}
	if c, _ := h.Heard(answer(strangerHW, t0.Add(4*time.Second)), true); !c.Notice {
		t.Fatalf("a new conflict after a quiet question: %+v, want it noticed", c)
	}
}

// An address this host wants, answered by another host: logged first,
// noticed once it has answered for Patience; a released ends the wait.
func TestHoldersNoticeAWaitAfterPatience(t *testing.T) {
	h := &Holders{Patience: 10 * time.Second}
	h.Heard(answer(strangerHW, t0), false)
	if _, ok := h.Answered(svcIP, t0.Add(time.Millisecond)); ok {
		t.Fatal("an answer from before since counts")
	}
	hd, ok := h.Answered(svcIP, t0)
	if !ok || hd.MAC != strangerHW.String() {
		t.Fatalf("Answered: %+v %v", hd, ok)
	}
	_, first, notice := h.Wanted(svcIP, t0)
	if !first || notice {
		t.Fatalf("first wait: first %v notice %v, want logged, not noticed yet", first, notice)
	}
	h.Heard(answer(strangerHW, t0.Add(9*time.Second)), false)
	if _, first, notice = h.Wanted(svcIP, t0.Add(9*time.Second)); first || notice {
		t.Fatalf("before Patience: first %v notice %v", first, notice)
	}
	h.Heard(answer(strangerHW, t0.Add(10*time.Second)), false)
	if _, _, notice = h.Wanted(svcIP, t0.Add(10*time.Second)); !notice {
		t.Fatal("not noticed after Patience")
	}
	if _, _, notice = h.Wanted(svcIP, t0.Add(20*time.Second)); notice {
		t.Fatal("noticed twice")
	}
	// Another MAC: another holder, logged anew.
	h.Heard(answer(secondaryHW, t0.Add(21*time.Second)), false)
	if _, first, _ = h.Wanted(svcIP, t0.Add(21*time.Second)); !first {
		t.Fatal("a new holder was not logged")
	}
	// A released ends the wait: what answered before it counts no more.
	h.Released()
	if _, ok := h.Answered(svcIP, time.Time{}); ok {
		t.Fatal("an answer from before the released counts")
	}
}
