package heartbeat

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/takeover"
)

var (
	svcIP       = netip.MustParseAddr("198.51.100.1")
	secondaryHW = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	strangerHW  = net.HardwareAddr{2, 0, 0, 0, 0, 3}
	t0          = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
)

func answer(mac net.HardwareAddr, at time.Time) takeover.Answer {
	return takeover.Answer{At: at, Addr: svcIP, Interface: "pub0", MAC: mac}
}

func heldIs(v bool) func(netip.Addr) bool { return func(netip.Addr) bool { return v } }

// learnSecondary runs one give-back: secondaryHW answers while this host
// waits, the released comes at t0+1s, and the MAC is silent while this
// host holds the address and asks.
func learnSecondary(t *testing.T, h *Holders) {
	t.Helper()
	h.Heard(answer(secondaryHW, t0), false)
	h.Released(t0.Add(time.Second))
	h.Added(svcIP)
	_, learnt := h.Settle(t0.Add(time.Second+h.Window), t0.Add(time.Second+time.Millisecond), heldIs(true))
	if len(learnt) != 1 || learnt[0].MAC != secondaryHW.String() || learnt[0].Interface != "pub0" {
		t.Fatalf("learnt %+v, want the secondary's MAC on pub0", learnt)
	}
}

// An answer is no authority: a MAC nobody vouched for answering for a
// held address is kept and noticed once, however often it answers.
func TestHoldersKeepAnAddressAStrangerAnswersFor(t *testing.T) {
	h := &Holders{Patience: 10 * time.Second, Window: 300 * time.Millisecond}
	c, ok := h.Heard(answer(strangerHW, t0), true)
	if !ok || c.Verdict != Keep || !c.Notice || c.MAC != strangerHW.String() || c.Secondary {
		t.Fatalf("first answer: %+v %v, want a noticed keep", c, ok)
	}
	for i := 1; i < 5; i++ {
		c, ok = h.Heard(answer(strangerHW, t0.Add(time.Duration(i)*time.Second)), true)
		if !ok || c.Verdict != Keep || c.Notice {
			t.Fatalf("answer %d: %+v %v, want a keep, not noticed again", i, c, ok)
		}
	}
	if _, ok := h.Heard(answer(strangerHW, t0), false); ok {
		t.Fatal("a conflict for an address this host does not hold")
	}
}

// A conflict ends when a question goes unanswered; the next answer is a
// new conflict, noticed again.
func TestHoldersConflictEndsWhenQuiet(t *testing.T) {
	h := &Holders{Patience: 10 * time.Second, Window: 300 * time.Millisecond}
	h.Heard(answer(strangerHW, t0), true)
	if ended, _ := h.Settle(t0.Add(time.Second), time.Time{}, heldIs(true)); len(ended) != 0 {
		t.Fatalf("ended %+v with no question asked", ended)
	}
	if ended, _ := h.Settle(t0.Add(time.Second), t0.Add(-time.Millisecond), heldIs(true)); len(ended) != 0 {
		t.Fatalf("ended %+v though it answered the question", ended)
	}
	ended, _ := h.Settle(t0.Add(3*time.Second), t0.Add(2*time.Second), heldIs(true))
	if len(ended) != 1 || ended[0].MAC != strangerHW.String() {
		t.Fatalf("ended %+v, want the stranger's conflict", ended)
	}
	if c, _ := h.Heard(answer(strangerHW, t0.Add(4*time.Second)), true); !c.Notice {
		t.Fatalf("a new conflict after a quiet question: %+v, want it noticed", c)
	}
}

// An address this host wants, answered by a MAC not known to be the
// secondary's: logged first, noticed once it has answered for Patience.
func TestHoldersNoticeAWaitAfterPatience(t *testing.T) {
	h := &Holders{Patience: 10 * time.Second, Window: 300 * time.Millisecond}
	h.Heard(answer(strangerHW, t0), false)
	if _, ok := h.Answered(svcIP, t0.Add(time.Millisecond)); ok {
		t.Fatal("an answer from before since counts")
	}
	hd, ok := h.Answered(svcIP, t0)
	if !ok || hd.MAC != strangerHW.String() {
		t.Fatalf("Answered: %+v %v", hd, ok)
	}
	hd, first, notice := h.Wanted(svcIP, t0)
	if !first || notice || hd.Secondary {
		t.Fatalf("first wait: %+v first %v notice %v, want logged, not noticed yet", hd, first, notice)
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
}

// The MAC that let go with the secondary's released is the secondary's:
// its answer for a held address removes it, and a wait for it is never
// noticed; another MAC is still kept.
func TestHoldersRemoveForTheSecondaryKnownByItsReleased(t *testing.T) {
	h := &Holders{Patience: time.Second, Window: 300 * time.Millisecond}
	learnSecondary(t, h)
	c, ok := h.Heard(answer(secondaryHW, t0.Add(time.Minute)), true)
	if !ok || c.Verdict != Remove || !c.Secondary || !c.Notice {
		t.Fatalf("the secondary answers for a held address: %+v %v, want a noticed remove", c, ok)
	}
	h.Heard(answer(secondaryHW, t0.Add(2*time.Minute)), false)
	if hd, first, notice := h.Wanted(svcIP, t0.Add(2*time.Minute)); !hd.Secondary || !first || notice {
		t.Fatalf("waiting for the secondary after the removal: %+v first %v notice %v, want logged, not noticed yet", hd, first, notice)
	}
	// Kept longer than a secondary that hears this host keeps it.
	if _, _, notice := h.Wanted(svcIP, t0.Add(2*time.Minute+time.Second)); !notice {
		t.Fatal("the secondary kept the address past Patience, unnoticed")
	}
	h.Added(svcIP)
	if c, _ := h.Heard(answer(strangerHW, t0.Add(2*time.Hour)), true); c.Verdict != Keep {
		t.Fatalf("another MAC: %v, want keep", c.Verdict)
	}
	// Reset (the checks failed) forgets holders, not the secondary.
	h.Reset()
	if c, _ := h.Heard(answer(secondaryHW, t0.Add(3*time.Hour)), true); c.Verdict != Remove {
		t.Fatalf("after Reset: %v, want remove", c.Verdict)
	}
}

// A MAC that answers again after the released is not the host that let
// go: kept, said so, and never learnt.
func TestHoldersCandidateThatStaysIsNotTheSecondary(t *testing.T) {
	h := &Holders{Patience: time.Second, Window: 300 * time.Millisecond}
	h.Heard(answer(strangerHW, t0), false)
	h.Released(t0.Add(time.Second))
	h.Added(svcIP)
	c, ok := h.Heard(answer(strangerHW, t0.Add(time.Second+10*time.Millisecond)), true)
	if !ok || c.Verdict != Keep || !c.Stayed || !c.Notice {
		t.Fatalf("%+v %v, want a noticed keep that stayed after the released", c, ok)
	}
	if _, learnt := h.Settle(t0.Add(time.Minute), t0.Add(50*time.Second), heldIs(true)); len(learnt) != 0 {
		t.Fatalf("learnt %+v", learnt)
	}
}

// Silence proves something only while this host holds the address and
// asks: no question after the released, or the address not added, and
// nothing is learnt.
func TestHoldersLearnOnlyFromAskedSilence(t *testing.T) {
	h := &Holders{Patience: time.Second, Window: 300 * time.Millisecond}
	h.Heard(answer(secondaryHW, t0), false)
	h.Released(t0.Add(time.Second))
	later := t0.Add(time.Minute)
	if _, learnt := h.Settle(later, time.Time{}, heldIs(true)); len(learnt) != 0 {
		t.Fatalf("learnt %+v with no question asked", learnt)
	}
	if _, learnt := h.Settle(later, t0.Add(time.Second-time.Millisecond), heldIs(true)); len(learnt) != 0 {
		t.Fatalf("learnt %+v from a question before the released", learnt)
	}
	if _, learnt := h.Settle(t0.Add(time.Second+100*time.Millisecond), t0.Add(time.Second+50*time.Millisecond), heldIs(true)); len(learnt) != 0 {
		t.Fatalf("learnt %+v before the window ended", learnt)
	}
	if _, learnt := h.Settle(later, later.Add(-time.Second), heldIs(false)); len(learnt) != 0 {
		t.Fatalf("learnt %+v while this host did not hold the address", learnt)
	}
	if _, learnt := h.Settle(later, later.Add(-time.Second), heldIs(true)); len(learnt) != 0 {
		t.Fatalf("learnt %+v after the candidate was dropped", learnt)
	}
	if c, _ := h.Heard(answer(secondaryHW, later), true); c.Verdict != Keep {
		t.Fatalf("%v, want keep: nothing vouched for the MAC", c.Verdict)
	}
}
