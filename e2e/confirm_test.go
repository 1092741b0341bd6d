package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// The tests of FAILOVER_CONFIRM (on by default): a silent primary is
// confirmed gone by probing its host, and a lost carrier is news.

// takenWithin waits until the client is answered by server2 and returns
// how long after from that was.
func (w *world) takenWithin(from time.Time, limit time.Duration) time.Duration {
	w.t.Helper()
	w.waitAnswerFrom("server2", limit)
	for _, a := range w.probe.Replies() {
		if a.From == "server2" && a.At.After(from) {
			return a.At.Sub(from)
		}
	}
	w.t.Fatal("no answer from server2 after the event")
	return 0
}

// A hung primary (its kernel neither answers nor sends; its links keep
// their carrier) at a 1 s interval: the timeout is 3 s, but its heartbeat
// is late after 1.25 s at most and its host answers no probe (an eighth
// of the interval more for a carrier loss told late), so the client is
// answered by server2 within 1.75 s of the hang.
func TestHungPrimaryTakenOverBeforeTheTimeout(t *testing.T) {
	w := newWorld(t)
	w.start("--interval", "1s")
	w.waitAnswerFrom("server1", 2*time.Second)
	if st := w.status(); st.PeerInterval != time.Second {
		t.Fatalf("failoverd did not learn the 1 s interval:\n%s", w.statusText())
	}
	hung := time.Now()
	w.Hang(t)
	took := w.takenWithin(hung, 3*time.Second+slack)
	t.Logf("hung primary (1 s interval, timeout 3 s): the client was answered by server2 %v after the hang", took.Round(time.Millisecond))
	if took > 1750*time.Millisecond {
		t.Errorf("taken over %v after the hang, want under 1.75 s (an interval and a quarter, four probes, an eighth)\nfailoverd:\n%s", took, w.secondary.Output())
	}
	if !strings.Contains(w.secondary.Output(), "answered none of 4 probes on priv0 or pub0") {
		t.Errorf("failoverd does not say the probes went unanswered:\n%s", w.secondary.Output())
	}
}

// A primary that loses power: its private cable loses its carrier at
// once, so server2 probes without waiting for a late heartbeat, and the
// client is answered by server2 within 200 ms (the timeout is 300 ms).
func TestPowerOffTakenOverAtOnce(t *testing.T) {
	w := newWorld(t)
	w.start()
	w.waitAnswerFrom("server1", 2*time.Second)
	off := time.Now()
	w.PowerOff()
	took := w.takenWithin(off, timeout+slack)
	t.Logf("power off (100 ms interval): the client was answered by server2 %v after it", took.Round(time.Millisecond))
	if took > 200*time.Millisecond {
		t.Errorf("taken over %v after the power went, want under 200 ms\nfailoverd:\n%s", took, w.secondary.Output())
	}
	if !strings.Contains(w.secondary.Output(), "priv0 (no carrier)") {
		t.Errorf("failoverd does not name the link without carrier:\n%s", w.secondary.Output())
	}
}

// A primary with a service address is stopped and started again
// (failoverd gives the address back after a hold-down of heartbeats),
// and then loses power: the takeover, decided within milliseconds while
// the primary's links still count as heard, keeps the address. The run
// of heartbeats of its earlier return once counted as a new one, so
// failoverd gave the address back at once to a dead primary, and took it
// over and gave it back again several times a second.
func TestPowerOffAfterAGiveBack(t *testing.T) {
	w := serviceWorld(t)
	w.startService()
	w.waitHeardOnEveryLink(2 * time.Second)
	must(t, w.primary.Signal(syscall.SIGTERM))
	w.primary.Wait(5 * time.Second)
	w.waitState("active", slack)
	w.startPrimary()
	w.waitState("standby", holdDown+2*time.Second+slack)
	if out := w.secondary.Output(); !strings.Contains(out, `job=giveback reason="heartbeats heard again`) {
		t.Fatalf("the give-back was not the hold-down's:\n%s", out)
	}
	w.waitAnswerFrom("server1", 2*time.Second)
	w.waitHeardOnEveryLink(2 * time.Second)
	// Up for longer than the hold-down: its return is a run of
	// heartbeats as long as one that gives the addresses back.
	time.Sleep(holdDown + 5*interval)
	off := time.Now()
	w.PowerOff()
	took := w.takenWithin(off, timeout+slack)
	t.Logf("power off after a give-back: the client was answered by server2 %v after it", took.Round(time.Millisecond))
	w.waitState("active", slack)
	// Watched for three timeouts: the addresses stay, whatever the
	// links' remaining time counted as heard.
	deadline := time.Now().Add(3 * timeout)
	for time.Now().Before(deadline) {
		if st := w.state(); st != "active" || !w.holds(w.S2) {
			t.Fatalf("server2 let go of the address %v after the power-off (state %s, holds %v)\nfailoverd:\n%s",
				time.Since(off).Round(time.Millisecond), st, w.holds(w.S2), w.secondary.Output())
		}
	}
	out := w.secondary.Output()
	if take, give := strings.Count(out, `msg="job starts" job=takeover`), strings.Count(out, `msg="job starts" job=giveback`); take != 2 || give != 1 {
		t.Errorf("%d takeovers and %d give-backs, want 2 (the switchover, the power-off) and 1 (the return):\n%s", take, give, out)
	}
}

// The power comes back after the hold-down, at a 1 s interval: server1
// answers for its address as soon as its cable is back, and server2,
// which took it over, asks at once whether it does when the private
// cable's carrier returns. An answer is no proof (anyone can send one
// with the primary's MAC), so server2 gives the address back on server1's
// first heartbeat, which heartbeatd sends the moment its link's carrier
// is back (and else within its 50 ms look at a faulty link), not at its
// next tick up to a second later.
func TestPowerBackIsAskedAtOnce(t *testing.T) {
	w := newWorld(t)
	w.start("--interval", "1s")
	w.waitAnswerFrom("server1", 2*time.Second)
	aw := w.watch()
	off := time.Now()
	w.PowerOff()
	w.takenWithin(off, 3*time.Second+slack)
	w.waitState("active", slack)
	// The asking after the takeover is over (a hold-down): what follows
	// is the carrier's return alone.
	if !lab.WaitFor(holdDown+2*time.Second, func() bool { return w.status().AskEvery == 0 }) {
		t.Fatalf("failoverd still asks %v after the takeover", holdDown+2*time.Second)
	}
	on := time.Now()
	w.PowerOn()
	w.waitState("standby", 3*time.Second)
	n, span := aw.Dual(on, time.Now())
	t.Logf("power back at a 1 s interval: two MACs answered %d rounds (%v); standby %v after it",
		n, span, time.Since(on).Round(time.Millisecond))
	// Runs: 0-70 ms; up to 717 ms when heartbeatd waited for its tick.
	if span > 150*time.Millisecond {
		t.Errorf("two MACs answered for %v after the power came back, want the time of a question and a give-back\nfailoverd:\n%s", span, w.secondary.Output())
	}
}

// heartbeatd frozen with SIGSTOP on a live host: its kernel answers the
// probes and its address answers, so nothing is taken, however long it
// lasts; heartbeats back, standby again.
func TestFrozenHeartbeatdIsNotTakenOver(t *testing.T) {
	w := newWorld(t)
	w.start()
	must(t, w.primary.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { _ = w.primary.Signal(syscall.SIGCONT) })
	var state string
	if !lab.Stays(10*timeout, func() bool {
		state = w.state()
		return state != "acquiring" && state != "active" && !w.holds(w.S2)
	}) {
		t.Fatalf("heartbeatd frozen on a live host, yet failoverd went %s (holds %v)\nfailoverd:\n%s", state, w.holds(w.S2), w.secondary.Output())
	}
	if state != "conflict" {
		t.Errorf("state %s after %v of silence from a live host, want conflict", state, 10*timeout)
	}
	if !strings.Contains(w.secondary.Output(), "the primary's host answered on") {
		t.Errorf("failoverd does not say the primary's host answered:\n%s", w.secondary.Output())
	}
	must(t, w.primary.Signal(syscall.SIGCONT))
	w.waitState("standby", 2*time.Second+slack)
}

// The primary's heartbeats return while the probes are out (probes
// 250 ms apart, so that the round lasts a second; the timeout 3 s): the
// round ends, and nothing is taken.
func TestHeartbeatsBackWhileProbing(t *testing.T) {
	w := newWorld(t, withConf("FAILOVER_CONFIRM_SPACING=250ms", "FAILOVER_DEAD_COUNT=30"))
	w.start()
	w.Hang(t)
	if !lab.WaitFor(time.Second+slack, func() bool { return strings.Contains(w.secondary.Output(), "probing the primary's host") }) {
		t.Fatalf("failoverd did not probe a hung primary:\n%s", w.secondary.Output())
	}
	w.Unhang()
	var state string
	if !lab.Stays(2*time.Second, func() bool { state = w.state(); return state == "standby" && !w.holds(w.S2) }) {
		t.Fatalf("heartbeats came back while probing, yet failoverd went %s\nfailoverd:\n%s", state, w.secondary.Output())
	}
	// What ends the round is whichever comes first once the primary is
	// back: a heartbeat, or on a busy machine its host's answer to a
	// probe (both say it lives).
	if out := w.secondary.Output(); !strings.Contains(out, "probing ended") ||
		!(strings.Contains(out, "a heartbeat came") || strings.Contains(out, "the primary's host answered")) {
		t.Errorf("failoverd does not say the primary's return ended the round:\n%s", out)
	}
}

// Loss on both links, both ways (the probes and their answers too), at a
// 100 ms interval for a minute: no takeover. At 20 % a timeout's silence
// on both links happens about once a minute; it may show as a conflict
// (the primary's address answers), never as a takeover.
func TestLossDoesNotFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: runs for a minute")
	}
	for _, pct := range []int{10, 20} {
		t.Run(fmt.Sprintf("%d%%", pct), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.start()
			losses := map[string]*lab.Loss{}
			for _, dev := range []string{"priv0", "pub0"} {
				losses[dev] = lab.DropPercent(t, w.S2, dev, pct)
				lab.DropPercent(t, w.S1, dev, pct)
			}
			before := map[string]uint64{}
			for dev := range losses {
				before[dev] = w.link(dev).Received
			}
			var state string
			if !lab.Stays(time.Minute, func() bool {
				state = w.state()
				return state != "acquiring" && state != "active" && !w.holds(w.S2)
			}) {
				t.Fatalf("with %d%% loss failoverd went %s:\n%s", pct, state, w.secondary.Output())
			}
			t.Logf("rounds of probes: %d; conflicts: %d", strings.Count(w.secondary.Output(), "probing the primary's host"),
				strings.Count(w.secondary.Output(), "to=conflict"))
			for dev, l := range losses {
				seen, dropped := l.Counts(t)
				got := w.link(dev).Received - before[dev]
				t.Logf("%s: %d of %d packets dropped; failoverd received %d heartbeats meanwhile", dev, dropped, seen, got)
				// About 600 heartbeats a link, and the probes' answers.
				lo, hi := uint64(pct)*seen/200, uint64(pct)*seen*3/200
				if seen < 500 || dropped < lo || dropped > hi {
					t.Errorf("%s: %d of %d packets dropped, want about %d %%", dev, dropped, seen, pct)
				}
				if got == 0 || got > seen-dropped {
					t.Errorf("%s: failoverd received %d heartbeats, but only %d packets got through", dev, got, seen-dropped)
				}
			}
		})
	}
}
