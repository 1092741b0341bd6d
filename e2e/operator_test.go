package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// operatorWorld is a world with the logging hooks of every stage.
func operatorWorld(t *testing.T) *world {
	w := newWorld(t, withHook("Test", ""), withHook("PreAcq10.a", ""), withHook("PostAcq10.c", ""),
		withHook("PreRel10.d", ""), withHook("PostRel10.e", ""))
	w.start()
	return w
}

// releasedHeard counts the `released` packets heartbeatd took in: acted
// on, or within a second of the last and so covered by its re-announce.
func (w *world) releasedHeard() int {
	out := w.primary.Output()
	return strings.Count(out, "the secondary released the addresses") + strings.Count(out, "released again within a second")
}

// failoverctl hold freezes; acquire and release act through the daemon;
// resume returns to the automatic rules. A clean stop while active gives
// the address back and tells the primary.
func TestOperatorCommandsAndCleanStop(t *testing.T) {
	w := operatorWorld(t)
	w.mustCtl("hold")
	w.waitState("held", time.Second+slack)
	// server1 answers for its own address: only --force takes it.
	if out := w.mustCtl("acquire", "--force"); !strings.Contains(out, "acquire: took the addresses over") {
		t.Fatalf("acquire said:\n%s", out)
	}
	if !lab.WaitFor(3*time.Second, func() bool { return w.status().Holding && w.holds(w.S2) }) {
		t.Fatalf("acquire while held:\n%s", w.statusText())
	}
	// Held: the primary is alive, yet no give-back, not even after the
	// hold-down.
	if !lab.Stays(holdDown+500*time.Millisecond, func() bool { return w.holds(w.S2) }) {
		t.Fatal("held, yet the address was given back")
	}
	w.mustCtl("release")
	if !lab.WaitFor(3*time.Second, func() bool { return !w.holds(w.S2) }) {
		t.Fatal("release did not give the address back")
	}
	if !lab.WaitFor(2*time.Second, func() bool { return w.releasedHeard() == 1 }) {
		t.Fatalf("release did not tell the primary:\n%s", w.primary.Output())
	}
	w.mustCtl("resume")
	w.waitState("standby", 3*time.Second)

	// Held, so that the automatic give-back does not come first.
	w.mustCtl("hold")
	w.mustCtl("acquire", "--force")
	if !w.status().Holding || !w.holds(w.S2) {
		t.Fatalf("not holding:\n%s", w.statusText())
	}
	must(t, os.Remove(filepath.Join(w.dir, "hooks.log")))
	must(t, w.secondary.Signal(syscall.SIGTERM))
	if code := w.secondary.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, w.secondary.Output())
	}
	if w.holds(w.S2) {
		t.Fatal("a clean stop while active must give the address back")
	}
	// Stopping, failoverd does not ask Test.
	w.wantHookRuns(hookLine("PreRel", "release", "PreRel10.d"), hookLine("PostRel", "release", "PostRel10.e"))
	if !lab.WaitFor(2*time.Second, func() bool { return w.releasedHeard() == 2 }) {
		t.Fatalf("the clean stop did not tell the primary:\n%s", w.primary.Output())
	}
}

// failoverctl says what happened and fails when nothing could be done.
func TestOperatorMessages(t *testing.T) {
	w := operatorWorld(t)
	out, err := w.ctl("release")
	if err != nil || !strings.Contains(out, "holds no address; nothing to release") {
		t.Fatalf("release with nothing held: %v\n%s", err, out)
	}
	// server1 answers for its address: refused, with the MAC and the way out.
	out, err = w.ctl("acquire")
	if err == nil || !strings.Contains(out, lab.MAC(t, w.S1, "pub0")) || !strings.Contains(out, "--force") {
		t.Fatalf("acquire while server1 answers must be refused: %v\n%s", err, out)
	}
	out, _ = w.ctl("acquire", "--force")
	if !strings.Contains(out, "automatic give-back returns them after the hold-down") {
		t.Fatalf("acquire with the primary alive must warn:\n%s", out)
	}
	w.waitState("standby", 5*time.Second) // given back automatically
	if !lab.WaitFor(holdDown+slack, func() bool { return !w.holds(w.S2) }) {
		t.Fatal("the operator's acquire was not given back")
	}
	// A Test that says no: acquire fails, and says why.
	must(t, os.WriteFile(filepath.Join(w.hookDir, lab.Server1Pub, "Test"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	out, err = w.ctl("acquire", "--force")
	if err == nil || !strings.Contains(out, "the Test hook said no") {
		t.Fatalf("vetoed acquire: %v\n%s", err, out)
	}
	if w.holds(w.S2) {
		t.Fatal("vetoed acquire, yet the address was taken")
	}
}
