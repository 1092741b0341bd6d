package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// One owner at a time, as the client sees it: an ARP watch on the client
// asks who has the public address every 5 ms and records every MAC that
// answers. No scenario here may show a round answered by two.

const watchEvery = 5 * time.Millisecond

func (w *world) watch() *lab.ARPWatch {
	return lab.StartARPWatch(w.t, w.Client, "eth0", lab.Server1Pub, watchEvery)
}

// noDuplicate fails the test if two MACs answered one round since since.
func noDuplicate(t *testing.T, aw *lab.ARPWatch, since time.Time) {
	t.Helper()
	if n, span := aw.Dual(since, time.Now()); n > 0 {
		t.Errorf("%d rounds (%v) answered by two MACs: %v", n, span, aw.Owners(since, time.Now()))
	}
}

// hasAddr says ns holds the public address, with any prefix length.
func hasAddr(ns *lab.NS) bool {
	out, _ := ns.Run("ip", "-o", "addr", "show", "dev", "pub0")
	return strings.Contains(out, "inet "+lab.Server1Pub+"/")
}

// heartbeatd stopped on a primary whose host stays up: its own address
// still answers, so failoverd waits (asking), calls it a conflict after
// FAILOVER_GOODBYE_WAIT, and takes over within 3 s of the host going away.
func TestPlannedStopHostStaysUp(t *testing.T) {
	w := newWorld(t, withConf("FAILOVER_GOODBYE_WAIT=2s"))
	w.start()
	aw := w.watch()
	start := time.Now()
	must(t, w.primary.Signal(syscall.SIGTERM))
	w.primary.Wait(5 * time.Second)
	w.waitState("asking", slack)
	w.waitState("conflict", 2*time.Second+slack)
	if w.holds(w.S2) {
		t.Fatal("server2 took the address while server1 answers for it")
	}
	text := w.statusText()
	mac := lab.MAC(t, w.S1, "pub0")
	if !strings.Contains(text, "conflict") || !strings.Contains(text, mac) || !strings.Contains(text, "the primary's MAC") {
		t.Fatalf("status does not say who answers (server1's pub0 is %s):\n%s", mac, text)
	}
	w.waitMail("is answered by " + mac)

	gone := time.Now()
	w.cutBoth()
	w.waitState("active", 3*time.Second)
	t.Logf("active %v after server1 went away", time.Since(gone).Round(time.Millisecond))
	w.waitAnswerFrom("server2", 2*time.Second)
	noDuplicate(t, aw, start)
}

// heartbeatd killed on a live host: after the timeout the address still
// answers, so nothing is taken; status says conflict.
func TestKilledHeartbeatdOnALiveHost(t *testing.T) {
	w := newWorld(t)
	w.start()
	aw := w.watch()
	start := time.Now()
	must(t, w.primary.Cmd.Process.Kill())
	w.waitState("conflict", timeout+slack)
	if lab.Stays(time.Second, func() bool { return !w.holds(w.S2) && w.state() == "conflict" }) == false {
		t.Fatalf("state %s, server2 holds %v, while server1 answers", w.state(), w.holds(w.S2))
	}
	if w.probe.Last() != "server1" {
		t.Fatalf("the client is answered by %q", w.probe.Last())
	}
	noDuplicate(t, aw, start)
}

// serviceWorld gives server1 a host address of its own (.11) and the
// public address as a service address that heartbeatd holds.
func serviceWorld(t *testing.T) *world {
	w := newWorld(t, withPrimaryConf(`FAILOVER_SERVICE_IPS="pub0:`+lab.Server1Pub+`"`))
	w.S1.MustRun("ip", "addr", "del", lab.Server1Pub+lab.PubNet, "dev", "pub0")
	w.S1.Addr("pub0", "198.51.100.11"+lab.PubNet)
	return w
}

// A service address: stopping heartbeatd is a switchover with one owner
// at every moment and an outage of milliseconds; heartbeatd started again
// gets it back after the hold-down, the same way round.
func TestServiceAddressSwitchoverAndBack(t *testing.T) {
	w := serviceWorld(t)
	w.startService()
	aw := w.watch()
	start := time.Now()
	must(t, w.primary.Signal(syscall.SIGTERM))
	w.primary.Wait(5 * time.Second)
	if hasAddr(w.S1) {
		t.Fatal("heartbeatd stopped and left its service address")
	}
	w.waitState("active", slack)
	w.waitAnswerFrom("server2", 2*time.Second)
	outage, _ := w.probe.LongestGap(start, time.Now())
	t.Logf("switchover: the client's longest gap %v (asked every 10 ms)", outage.Round(time.Millisecond))
	if outage > 100*time.Millisecond {
		t.Errorf("switchover outage %v", outage)
	}
	noDuplicate(t, aw, start)

	back := time.Now()
	w.startPrimary()
	w.waitState("standby", holdDown+2*time.Second+slack)
	// A service address waits for the hold-down: server1 does not answer
	// for it until released.
	if took := time.Since(back); took < holdDown {
		t.Errorf("given back %v after heartbeatd started again: the hold-down of %v was not kept", took, holdDown)
	}
	if !lab.WaitFor(2*time.Second, func() bool { return hasAddr(w.S1) }) {
		t.Fatalf("heartbeatd did not take its service address back:\n%s", w.primary.Output())
	}
	w.waitAnswerFrom("server1", 2*time.Second)
	outage, _ = w.probe.LongestGap(back, time.Now())
	t.Logf("give-back: the client's longest gap %v", outage.Round(time.Millisecond))
	if outage > 100*time.Millisecond {
		t.Errorf("give-back outage %v", outage)
	}
	noDuplicate(t, aw, start)
}

// The primary's cables come back (its own address, which it answers for
// at once): failoverd gives the address back at once, not after the
// hold-down, so two answer for a moment only.
func TestReturningPrimaryGetsItsAddressAtOnce(t *testing.T) {
	w := newWorld(t, withConf("FAILOVER_GIVEBACK_HOLDDOWN=10s"))
	w.start()
	w.cutBoth()
	w.waitState("active", timeout+slack)
	w.waitAnswerFrom("server2", 2*time.Second)
	aw := w.watch()
	back := time.Now()
	w.RestorePrivate()
	w.RestorePublic()
	w.waitState("standby", 3*time.Second+slack)
	took := time.Since(back)
	t.Logf("standby %v after the cables came back (hold-down 10 s)", took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("gave back after %v: that is the hold-down's doing", took)
	}
	n, span := aw.Dual(back, time.Now())
	t.Logf("two MACs answered %d rounds (%v)", n, span)
	if span > time.Second {
		t.Errorf("two MACs answered for %v", span)
	}
}

// failoverctl acquire is refused while the primary answers; --force takes.
func TestAcquireRefusedWhileAnswered(t *testing.T) {
	w := newWorld(t)
	w.start()
	out, err := w.ctl("acquire")
	if err == nil || !strings.Contains(out, "--force") {
		t.Fatalf("acquire while server1 answers: err %v\n%s", err, out)
	}
	if w.holds(w.S2) {
		t.Fatal("acquired while server1 answers")
	}
	w.mustCtl("acquire", "--force")
	if !w.holds(w.S2) {
		t.Fatal("acquire --force did not take the address")
	}
}

// Service address, server1's cables cut: heartbeatd keeps the address (it
// cannot tell a cut cable from a dead secondary), server2 takes it over;
// with the cables back server2 hears server1 and says holding, so
// server1 removes the address; server2 gives it back after the hold-down,
// and server1 adds and announces it on released, so the client comes
// back.
func TestServiceAddressAfterACutCable(t *testing.T) {
	w := serviceWorld(t)
	w.startService()
	w.cutBoth()
	w.waitState("active", timeout+slack)
	w.waitAnswerFrom("server2", 2*time.Second)
	back := time.Now()
	w.RestorePrivate()
	w.RestorePublic()
	w.waitState("standby", 2*time.Second+slack)
	w.waitAnswerFrom("server1", 2*time.Second)
	t.Logf("the client is answered by server1 %v after the cables came back", time.Since(back).Round(time.Millisecond))
	// The lab's client may also learn server1 back from server1's own
	// ARP requests (with the service address as sender) when it answers
	// the client; the announcement is what a client that heard nothing
	// from server1 needs. An add announces; an address still held (from
	// a failoverd that sends no holding) is announced again.
	if !lab.WaitFor(time.Second, func() bool {
		out := w.primary.Output()
		return strings.Contains(out, "announced a service address again") || strings.Contains(out, `why="the secondary released them, and nobody else answers for them"`)
	}) {
		t.Fatalf("heartbeatd did not add or announce its service address again on released:\n%s", w.primary.Output())
	}
}

// heartbeatd killed (-9) on a live host at a 10 ms interval: server1
// answers for its address at every question (one a millisecond), so
// server2 stays in conflict and takes nothing, even when an answer is a
// few milliseconds late on a busy machine. It once took over on a 3 ms
// gap, and gave the address back at once on the next answer.
func TestKilledAtTenMillisecondsIsNotTakenOver(t *testing.T) {
	w := newWorld(t)
	w.start("--interval", "10ms")
	aw := w.watch()
	kill := time.Now()
	must(t, w.primary.Signal(syscall.SIGKILL))
	w.waitState("conflict", slack)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if w.holds(w.S2) {
			t.Fatalf("server2 took the address %v after heartbeatd was killed on a live host\nfailoverd:\n%s",
				time.Since(kill).Round(time.Millisecond), w.secondary.Output())
		}
	}
	if out := w.secondary.Output(); strings.Contains(out, "job=takeover") {
		t.Errorf("a takeover started while server1 answered:\n%s", out)
	}
	noDuplicate(t, aw, kill)
}
