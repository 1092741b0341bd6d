package failoverd

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// The races between the askers' sockets and the decisions, each with the
// fake asker that speaks it: an answer that waits unread, a listener
// that fails, a sender short of CPU, an answer on another link.

// heartbeatd killed on a live host whose answers wait unread (the reader
// is short of CPU and reads nothing): each question first takes what
// waits, so the address still answers and nothing is taken.
func TestUnreadAnswersCountBeforeTheQuestions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.answering(primaryMAC)
		a.stall(true)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		time.Sleep(5 * time.Second)
		if w.holds() || w.d.State() != failover.Conflict {
			t.Fatalf("state %s, holds %v: a live host's answers waiting unread passed for silence", w.d.State(), w.holds())
		}
		a.stall(false)
		a.answering("")
		w.waitState(failover.Active, time.Second)
	})
}

// The same with confirming probes: the primary's host answers its probes
// only into the unread queue. A round must take them before it counts the
// probes unanswered: no takeover before the timeout.
func TestUnreadProbeAnswersCountBeforeTheRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.only = map[netip.Addr]bool{senders["priv0"]: true, senders["pub0"]: true}
		a.answering(primaryMAC)
		a.stall(true)
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took < timeout {
			t.Fatalf("took over %v after the last heartbeat, before the timeout %v, while the host answered every probe (unread)", took, timeout)
		}
	})
}

// A conflict after a takeover that an answer stopped ends only once the
// address has gone unanswered for a hold-down (2 s here): a tick decides
// then, between two questions. The last answer before it arrived late
// and waits unread (the reader is stalled, and the question after it is
// slow to go out, so no question's drain takes it): the tick must take
// it first, or the conflict ends with the address answering.
func TestTickTakesUnreadAnswersWhileAsking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, w := stoppedTakeover(t)
		w.waitState(failover.Conflict, time.Second)
		// The questions go every 10 ms. The address stops answering for
		// all but one question, 5 ms late, just before the hold-down
		// ends; the question after it takes 100 ms to go out.
		a.mu.Lock()
		a.stalled = true
		plan := make([]askStep, holdDown/(10*time.Millisecond)-3)
		a.plan = append(plan, askStep{answer: true, delay: 5 * time.Millisecond}, askStep{stall: 100 * time.Millisecond, answer: true})
		a.mu.Unlock()
		time.Sleep(holdDown + 200*time.Millisecond)
		if w.holds() || w.d.State() != failover.Conflict {
			t.Fatalf("state %s, holds %v: a conflict ended at a tick with the address's answer waiting unread", w.d.State(), w.holds())
		}
	})
}

// The listener that hears the answers fails and is started again a
// second later. Questions asked while nobody listens would go unanswered
// whoever holds the address: they must not count, so a live host's
// address is not taken in the gap.
func TestQuestionsDoNotCountWhileNothingListens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, w := inConflict(t)
		for range 3 {
			a.fail <- errors.New("socket closed")
			time.Sleep(1500 * time.Millisecond)
			if w.holds() {
				t.Fatalf("took over a live host's address while its answers could not be heard (state %s)", w.d.State())
			}
		}
		a.mu.Lock()
		runs := a.runs
		a.mu.Unlock()
		if runs != 4 {
			t.Fatalf("the listener ran %d times, want 4 (started again after each of 3 failures)", runs)
		}
		if w.d.State() != failover.Conflict {
			t.Fatalf("state %s, want conflict", w.d.State())
		}
	})
}

// A host answers for the public address only on the private link (Linux
// answers ARP for any of its addresses on any link): that says nothing of
// who answers on the public link, where the address is. The primary is
// silent on both links, so it is taken at the timeout as when nobody
// answers. And an answer for the primary's private address heard on the
// public link is no answer to the private link's probe.
func TestAnswersOnAnotherLinkDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.only = map[netip.Addr]bool{netip.MustParseAddr("198.51.100.1"): true}
		a.on = "priv0"
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took > timeout+time.Millisecond {
			t.Fatalf("took over %v after the last heartbeat (timeout %v): an answer on the private link held it back", took, timeout)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.only = map[netip.Addr]bool{senders["priv0"]: true}
		a.on = "pub0"
		a.answering(primaryMAC)
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		w.waitState(failover.Active, time.Second)
		started, _ := w.notices.last(notice.Takeover)
		if took := started.At.Sub(w.lastBeat); took >= timeout {
			t.Fatalf("took over %v after the last heartbeat, at the timeout: an answer on pub0 counted as the private link's probe answered", took)
		}
	})
}

// No question for the address can go out (its interface is gone, the
// socket fails), while the probes of the primary's host do and go
// unanswered. Probes say nothing of who holds the address: with no
// question asked, nothing is known to be free, and nothing is taken.
func TestUnsentQuestionsDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAsker()
		a.unsendable = true
		w := newWorldAsking(t, false, a, confirming)
		w.beatFor(time.Second)
		time.Sleep(3 * time.Second)
		if w.holds() {
			t.Fatalf("took the address over (state %s) though no question about it could be sent", w.d.State())
		}
		if a.probed("priv0") == 0 {
			t.Fatal("the primary's host was not probed: the test does not test what it says")
		}
	})
}

// A crash in the middle of a takeover left one of two addresses on this
// host. The primary stays silent past the initial grace: failoverd
// completes the takeover (the other address too), as the machine's
// unfinished takeover rule says.
func TestUnfinishedTakeoverIsCompleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		second := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.2/32")}
		w := newWorld(t, true, func(c *Config) { c.Addresses = append(c.Addresses, second) })
		time.Sleep(2 * time.Second)
		held, err := w.manager.Held(context.Background(), []takeover.Address{w.addr, second})
		if err != nil {
			t.Fatal(err)
		}
		if len(held) != 2 {
			t.Fatalf("holds %v of %v and %v, with the primary silent past the grace (state %s)", held, w.addr, second, w.d.State())
		}
		if lines := w.logs.lines("completing a takeover that an earlier run left unfinished"); len(lines) == 0 {
			t.Fatal("no takeover said it completes an unfinished one")
		}
	})
	// The primary heard instead: what was held goes back after the
	// hold-down, and the other address is never taken.
	synctest.Test(t, func(t *testing.T) {
		second := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.2/32")}
		w := newWorld(t, true, func(c *Config) { c.Addresses = append(c.Addresses, second) })
		w.beatFor(holdDown + time.Second)
		held, err := w.manager.Held(context.Background(), []takeover.Address{w.addr, second})
		if err != nil {
			t.Fatal(err)
		}
		if len(held) != 0 || w.d.State() != failover.Standby {
			t.Fatalf("holds %v in state %s, with the primary heard for a hold-down", held, w.d.State())
		}
	})
}

// A takeover whose hooks all succeed sends no hook-failure notice; one
// whose PreAcq fails sends one that names that hook and none of those
// that succeeded.
func TestHookFailureNoticeNamesOnlyTheFailedHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.beatFor(time.Second)
		w.waitState(failover.Active, 2*time.Second)
		if _, ok := w.notices.last(notice.HookFailure); ok {
			t.Fatalf("a hook-failure notice after a takeover whose hooks succeeded: %v", w.notices.kinds())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false)
		w.hooks.exit[hooks.PreAcq] = 3
		w.beatFor(time.Second)
		w.waitState(failover.Active, 2*time.Second)
		ev, ok := w.notices.last(notice.HookFailure)
		if !ok {
			t.Fatalf("no hook-failure notice: %v", w.notices.kinds())
		}
		if !strings.Contains(ev.Detail, "PreAcq10.fake") || strings.Contains(ev.Detail, "Test10.fake") || strings.Contains(ev.Detail, "PostAcq10.fake") {
			t.Fatalf("hook-failure notice %q: want the failed PreAcq hook alone", ev.Detail)
		}
	})
}
