package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// The administrator's plan, watched from the client and through
// failoverctl status: both links alive; the private cable cut (anomaly,
// nothing taken); the public one too (takeover, hooks in byte order);
// both back (give-back after the hold-down, the client moved by the
// primary's re-announce), then a clean stop.
func TestFailoverAndGiveBack(t *testing.T) {
	w := newWorld(t, withHook("Test", ""), withHook("PreAcq20.b", ""), withHook("PreAcq10.a", ""),
		// Names that differ only in case run in byte order: upper case first.
		withHook("PostAcq10.c", ""), withHook("PostAcq10.C", ""), withHook("PostAcqa", ""), withHook("PostAcqB", ""),
		withHook("PreRel10.d", ""), withHook("PostRel10.e", ""),
		// heartbeatd announces in bursts only (at start, on released), so
		// that at give-back nothing but the released re-announce can move
		// the client (the lab's client never re-resolves on its own).
		withPrimaryConf("FAILOVER_ANNOUNCE_REPEATS=0"))
	w.start()
	if !lab.WaitFor(2*time.Second, func() bool { return w.link("priv0").Alive && w.link("pub0").Alive }) {
		t.Fatalf("both links should be alive:\n%s", w.statusText())
	}
	if st := w.status(); st.PeerInterval != interval || st.Timeout != timeout || st.PeerEpoch == 0 {
		t.Errorf("peer interval %v, timeout %v, epoch %d", st.PeerInterval, st.Timeout, st.PeerEpoch)
	}
	w.waitAnswerFrom("server1", 2*time.Second)

	// Private cable: an anomaly, nothing taken.
	w.CutPrivate()
	w.waitState("degraded", 2*time.Second+slack)
	if w.link("priv0").Alive || !w.link("pub0").Alive {
		t.Fatalf("priv0 should be silent, pub0 alive:\n%s", w.statusText())
	}
	w.waitMail("network anomaly")
	if !lab.Stays(2*timeout, func() bool { return !w.holds(w.S2) && w.state() == "degraded" }) {
		t.Fatalf("one link silent, yet failoverd went %s (holds %v)", w.state(), w.holds(w.S2))
	}

	// Public cable: takeover within the timeout plus slack. A failoverd
	// that missed the primary's advertised interval would wait for its
	// default one (1 s × 3) and miss this bound.
	cut := time.Now()
	w.CutPublic()
	w.waitState("active", timeout+slack)
	t.Logf("active %v after the second cable was cut (timeout %v)", time.Since(cut).Round(time.Millisecond), timeout)
	w.waitAnswerFrom("server2", 2*time.Second)
	outage, _ := w.probe.LongestGap(cut, time.Now())
	t.Logf("takeover: the client got no answer for %v", outage.Round(time.Millisecond))
	if outage > timeout+slack {
		t.Errorf("takeover outage %v, want under the timeout %v plus %v", outage, timeout, slack)
	}
	if !w.holds(w.S2) {
		t.Fatal("active, but server2 does not hold the address")
	}
	if mac := w.clientSees(); mac != lab.MAC(t, w.S2, "pub0") {
		t.Errorf("client's neighbour entry for %s is %s, want server2's %s", lab.Server1Pub, mac, lab.MAC(t, w.S2, "pub0"))
	}
	w.wantHookRuns(hookLine("Test", "acquire", "Test"),
		hookLine("PreAcq", "acquire", "PreAcq10.a"), hookLine("PreAcq", "acquire", "PreAcq20.b"),
		hookLine("PostAcq", "acquire", "PostAcq10.C"), hookLine("PostAcq", "acquire", "PostAcq10.c"),
		hookLine("PostAcq", "acquire", "PostAcqB"), hookLine("PostAcq", "acquire", "PostAcqa"))
	env, _ := os.ReadFile(filepath.Join(w.dir, "env.PreAcq10.a"))
	if got := strings.TrimSpace(string(env)); got != "FAILOVER_ACTION FAILOVER_ADDRESS FAILOVER_INTERFACE FAILOVER_PEER_IP FAILOVER_REASON FAILOVER_STAGE PATH PWD" {
		t.Errorf("hook environment: %s", got)
	}
	text := w.statusText()
	for _, want := range []string{"PreAcq20.b exit 0", "PostAcqa exit 0", lab.Server1Pub + "/32  held"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	w.waitMail("took over " + lab.Server1Pub)

	// Cables back. The client still goes to server2's MAC: only the
	// primary's re-announce after `released` can move it back.
	if mac := w.clientSees(); mac != lab.MAC(t, w.S2, "pub0") {
		t.Fatalf("before the give-back the client's entry is %s, want server2's %s", mac, lab.MAC(t, w.S2, "pub0"))
	}
	must(t, os.Remove(filepath.Join(w.dir, "hooks.log")))
	received := w.link("priv0").Received
	back := time.Now()
	w.RestorePrivate()
	w.RestorePublic()
	// When failoverd hears the primary again: after the last status that
	// had not counted a new heartbeat yet was taken (heartbeatd itself
	// may take up to a second to see its link is back).
	heardAfter := back
	if !lab.WaitFor(2*time.Second+slack, func() bool {
		asked := time.Now()
		if w.link("priv0").Received > received {
			return true
		}
		heardAfter = asked
		return false
	}) {
		t.Fatalf("no heartbeat on priv0 after the cables were back:\n%s", w.statusText())
	}
	// server1 answers for its own address as soon as its cable is back:
	// keeping it for the hold-down would leave two servers answering,
	// so it goes back at once (TestServiceAddressSwitchoverAndBack keeps
	// the hold-down for a service address, which server1 answers for
	// only after released).
	if !lab.WaitFor(timeout+slack, func() bool { return !w.holds(w.S2) }) {
		t.Fatalf("server2 still holds the address %v after the primary was heard again\n%s", time.Since(heardAfter), w.secondary.Output())
	}
	gone := time.Now()
	t.Logf("given back %v after the primary was heard again (hold-down %v)", gone.Sub(heardAfter).Round(time.Millisecond), holdDown)
	w.waitState("standby", 2*time.Second+slack)
	// Without the re-announce the client would stay on server2's MAC for
	// good; with it, it moves within a moment (1 s of slack for load).
	w.waitAnswerFrom("server1", time.Second+slack)
	outage, _ = w.probe.LongestGap(back, time.Now())
	t.Logf("give-back: the client got no answer for %v", outage.Round(time.Millisecond))
	if outage > time.Second {
		t.Errorf("give-back outage %v: the released re-announce should move the client at once", outage)
	}
	if mac := w.clientSees(); mac != lab.MAC(t, w.S1, "pub0") {
		t.Errorf("after the give-back the client's entry is %s, want server1's %s", mac, lab.MAC(t, w.S1, "pub0"))
	}
	if !strings.Contains(w.primary.Output(), "the secondary released the addresses") {
		t.Errorf("heartbeatd did not hear released:\n%s", w.primary.Output())
	}
	w.wantHookRuns(hookLine("Test", "release", "Test"), hookLine("PreRel", "release", "PreRel10.d"), hookLine("PostRel", "release", "PostRel10.e"))
	w.waitMail("gave " + lab.Server1Pub + " back")

	// A clean stop in standby: exit 0, the control socket removed.
	must(t, w.secondary.Signal(syscall.SIGTERM))
	if code := w.secondary.Wait(10 * time.Second); code != 0 {
		t.Fatalf("failoverd exit %d\n%s", code, w.secondary.Output())
	}
	if _, err := os.Stat(w.socket()); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
}

// Test says no (it exits 1, or it cannot run at all): no takeover, and a
// notice says why. A Test that is there but not executable is a fence
// that cannot run: it must veto, not be skipped.
func TestTestVeto(t *testing.T) {
	for _, c := range []struct {
		name, body string
		mode       os.FileMode
		why        string // in the notice
		log        string // in failoverd's log
	}{
		{"exit 1", "#!/bin/sh\necho 'primary not confirmed off'\nexit 1\n", 0o755, "exit 1", "primary not confirmed off"},
		{"not executable", "#!/bin/sh\nexit 0\n", 0o644, "not executable", "not executable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, withHookMode("Test", c.body, c.mode), withHook("PreAcq10.a", ""))
			w.start()
			w.cutBoth()
			w.waitState("vetoed", timeout+slack)
			w.waitMail("vetoed")
			if w.holds(w.S2) || len(w.hookRuns()) != 0 {
				t.Fatalf("vetoed, yet taken (holds %v, hooks %q)", w.holds(w.S2), w.hookRuns())
			}
			if st := w.status(); len(st.Addresses) != 1 || st.Addresses[0].Held {
				t.Errorf("status addresses %+v, want %s not held", st.Addresses, lab.Server1Pub)
			}
			if !strings.Contains(w.mails(), c.why) {
				t.Errorf("the veto notice does not say %q:\n%s", c.why, w.mails())
			}
			if !strings.Contains(w.secondary.Output(), c.log) {
				t.Errorf("the log lacks %q:\n%s", c.log, w.secondary.Output())
			}
			if w.state() != "vetoed" {
				t.Errorf("state %s after the veto notice, want vetoed", w.state())
			}
		})
	}
}

// A planned stop and then the host going away (its links down 0.5 s after
// heartbeatd's goodbye): failoverd takes over once the address stops
// answering, long before the timeout.
func TestGoodbye(t *testing.T) {
	const long = 5 * time.Second
	w := newWorld(t)
	w.startPrimary()
	w.startSecondary("--timeout", long.String())
	w.waitState("standby", 5*time.Second)
	aw := w.watch()
	stop := time.Now()
	must(t, w.primary.Signal(syscall.SIGTERM))
	time.Sleep(500 * time.Millisecond) // the host shuts down
	w.cutBoth()
	w.waitState("active", long+slack)
	took := time.Since(stop)
	t.Logf("active %v after heartbeatd's SIGTERM, the host gone 0.5 s after it (timeout %v)", took.Round(time.Millisecond), long)
	if took > long/2 {
		t.Errorf("active %v after the goodbye: that is the timeout's doing (%v), not the goodbye's", took, long)
	}
	if !strings.Contains(w.secondary.Output(), "the primary said goodbye") {
		t.Fatalf("not taken over for the goodbye:\n%s", w.secondary.Output())
	}
	noDuplicate(t, aw, stop)
	if t.Failed() {
		t.Logf("failoverd:\n%s\nheartbeatd:\n%s", w.secondary.Output(), w.primary.Output())
	}
}

// kill -9 of failoverd while active, then a restart: the address stays,
// no hook runs again, the client sees no second outage.
func TestCrashWhileActive(t *testing.T) {
	w := newWorld(t, withHook("PostAcq10.c", ""))
	w.start()
	w.cutBoth()
	w.waitState("active", timeout+slack)
	w.waitAnswerFrom("server2", 2*time.Second)
	runs := w.hookRuns()

	crash := time.Now()
	must(t, w.secondary.Cmd.Process.Kill())
	w.secondary.Wait(5 * time.Second)
	w.startSecondary()
	w.waitState("active", 3*time.Second+slack)
	// Watch the client through two reconcile rounds of the new failoverd.
	active := time.Now()
	if !lab.WaitFor(5*time.Second+slack, func() bool {
		a := w.probe.Replies()
		return len(a) > 0 && a[len(a)-1].At.After(active.Add(time.Second))
	}) {
		t.Fatalf("the client got no answer after the restart (last from %q)", w.probe.Last())
	}
	outage, _ := w.probe.LongestGap(crash, time.Now())
	t.Logf("crash and restart: the client's longest gap was %v", outage.Round(time.Millisecond))
	// A restart that dropped the address would cost the initial grace
	// (1 s) and the timeout at least.
	if outage > 500*time.Millisecond {
		t.Errorf("a second outage of %v", outage)
	}
	if got := w.hookRuns(); strings.Join(got, "\n") != strings.Join(runs, "\n") {
		t.Errorf("hooks ran again: %q", got)
	}
	if !w.holds(w.S2) {
		t.Error("the address is gone after the restart")
	}
}

// A wrong key on one side: its heartbeats are dropped and counted, so the
// secondary takes over; the right key: heartbeats counted, no takeover.
func TestAuthKeys(t *testing.T) {
	writeKey := func(dir, name, secret string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(secret+"\n"), 0o600))
		return p
	}
	for _, right := range []bool{true, false} {
		t.Run(fmt.Sprintf("right=%v", right), func(t *testing.T) {
			dir := t.TempDir()
			good := writeKey(dir, "good", "the right secret, 32 bytes long..")
			bad := writeKey(dir, "bad", "the wrong secret, 32 bytes long..")
			w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+good))
			key := good
			if !right {
				key = bad
			}
			w.startPrimary("--auth-key-file", key)
			w.startSecondary()
			if right {
				w.waitState("standby", 5*time.Second)
				// Ten heartbeats on each link (a second, more than the
				// timeout), and standby all along.
				var bad string
				lab.WaitFor(10*time.Second, func() bool {
					st := w.status()
					if string(st.State) != "standby" || w.holds(w.S2) {
						bad = fmt.Sprintf("state %s, holds %v", st.State, w.holds(w.S2))
						return true
					}
					n := 0
					for _, l := range st.Links {
						if l.Received >= 10 && len(l.Dropped) == 0 {
							n++
						}
					}
					return n == 2
				})
				if bad != "" {
					t.Fatalf("right key, yet %s:\n%s", bad, w.secondary.Output())
				}
				for _, l := range w.status().Links {
					if l.Received < 10 || len(l.Dropped) != 0 {
						t.Errorf("link %s: received %d, dropped %v", l.Name, l.Received, l.Dropped)
					}
				}
				return
			}
			// Nothing heard, but server1 still answers for its address:
			// a conflict, not a takeover.
			w.waitState("conflict", 5*time.Second)
			if w.holds(w.S2) {
				t.Fatal("wrong key: server2 took the address while server1 answers for it")
			}
			st := w.status()
			for _, l := range st.Links {
				if l.Dropped["bad-tag"] == 0 || l.Received != 0 {
					t.Errorf("link %s: received %d, dropped %v", l.Name, l.Received, l.Dropped)
				}
			}
		})
	}
}

// A hook that hangs is killed at its timeout, with what it started; the
// failover completes and the notice names the hook. The hook writes its
// own pid, its child's and its process group, so that the test looks at
// those processes only (a network namespace does not hide the host's).
func TestHangingHook(t *testing.T) {
	const hang = "#!/bin/sh\nsleep 600 &\necho \"$$ $! $(cut -d' ' -f5 /proc/$$/stat)\" > %DIR%/hang.pids\nwait\n"
	w := newWorld(t, withHook("PreAcq10.hang", hang), withHook("PostAcq10.c", ""), withConf("FAILOVER_HOOK_TIMEOUT=1s"))
	w.start()
	w.cutBoth()
	w.waitState("active", timeout+time.Second+slack)
	if !w.holds(w.S2) || len(w.hookRuns()) != 1 {
		t.Fatalf("after the hung hook: holds %v, hooks %q", w.holds(w.S2), w.hookRuns())
	}
	w.waitMail("PreAcq10.hang")
	if !strings.Contains(w.mails(), "timed out") {
		t.Errorf("the notice does not say the hook timed out:\n%s", w.mails())
	}
	b, err := os.ReadFile(filepath.Join(w.dir, "hang.pids"))
	if err != nil {
		t.Fatalf("the hung hook did not write its pids: %v", err)
	}
	var shell, sleep, group int
	if _, err := fmt.Sscan(string(b), &shell, &sleep, &group); err != nil || group != shell {
		t.Fatalf("hang.pids %q: %v (the hook must lead its own process group)", b, err)
	}
	var left []int
	if !lab.WaitFor(2*time.Second, func() bool { left = liveInGroup(group); return len(left) == 0 && !alive(shell) && !alive(sleep) }) {
		t.Errorf("the hung hook's processes still run: shell %d alive %v, sleep %d alive %v, group %d has %v",
			shell, alive(shell), sleep, alive(sleep), group, left)
	}
}

// A crash in the middle of a takeover left one of two addresses on the
// secondary while the primary is alive: failoverd keeps what is there,
// never adds the other, and gives everything back once the primary is
// heard for the hold-down.
func TestPartialLeftoverWithPrimaryAlive(t *testing.T) {
	w := newWorld(t, withConf(`FAILOVER_PEER_IP_PAIRS="pub0:`+lab.Server1Pub+` pub0:198.51.100.10"`))
	w.S1.MustRun("ip", "addr", "add", "198.51.100.10/32", "dev", "pub0")
	w.S2.MustRun("ip", "addr", "add", "198.51.100.10/32", "dev", "pub0", "label", "pub0:ipfo", "preferred_lft", "0")
	w.startPrimary()
	w.startSecondary()
	// It starts active with the leftover and gives it back: at once,
	// since server1 answers for both addresses.
	added := false
	if !lab.WaitFor(5*time.Second+slack, func() bool { added = added || w.holds(w.S2); return added || w.state() == "standby" }) {
		t.Fatalf("not given back: state %s", w.state())
	}
	if added {
		t.Fatalf("failoverd added %s while the primary is alive:\n%s", lab.Server1Pub, w.secondary.Output())
	}
	if out, _ := w.S2.Run("ip", "-o", "addr", "show", "dev", "pub0"); strings.Contains(out, "198.51.100.10/") {
		t.Fatalf("the leftover was not given back:\n%s", out)
	}
}
