package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

const (
	checkEvery = 200 * time.Millisecond
	checkFall  = 3
	checkRise  = 2
)

// checkWorld is a service-address world whose heartbeatd runs the
// Check* hooks every 200 ms (fall 3, rise 2, timeout 500 ms) from the
// address's folder (the lab's two servers share it); each check named
// here fails while a file of its name plus ".fail" exists in the world's
// folder, hangs while one plus ".hang" does, and fails every other run
// while one plus ".flap" does.
func checkWorld(t *testing.T, checks ...string) *world {
	w := serviceWorld(t)
	w.primaryConf = append(w.primaryConf, "FAILOVER_HOOK_DIR="+w.hookDir,
		"FAILOVER_CHECK_INTERVAL="+checkEvery.String(), "FAILOVER_CHECK_FALL=3", "FAILOVER_CHECK_RISE=2", "FAILOVER_CHECK_TIMEOUT=500ms")
	for _, name := range checks {
		body := "#!/bin/sh\n" +
			"[ -e %DIR%/" + name + ".hang ] && exec sleep 30\n" +
			"[ -e %DIR%/" + name + ".fail ] && { echo \"" + name + " told to fail\"; exit 3; }\n" +
			"if [ -e %DIR%/" + name + ".flap ]; then\n" +
			"  [ -e %DIR%/" + name + ".flapped ] && { rm %DIR%/" + name + ".flapped; exit 0; }\n" +
			"  touch %DIR%/" + name + ".flapped; echo flap; exit 1\n" +
			"fi\n" +
			"exit 0\n"
		withHook(name, body)(w)
	}
	return w
}

func (w *world) startService() {
	w.t.Helper()
	w.startPrimary()
	if !lab.WaitFor(5*time.Second, func() bool { return hasAddr(w.S1) }) {
		w.t.Fatalf("heartbeatd did not add its service address:\n%s", w.primary.Output())
	}
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.waitAnswerFrom("server1", 2*time.Second)
}

func (w *world) touch(name string) { must(w.t, os.WriteFile(filepath.Join(w.dir, name), nil, 0o644)) }
func (w *world) rm(name string)    { must(w.t, os.Remove(filepath.Join(w.dir, name))) }

// A check that starts failing moves the service address to server2
// within fall × interval, a heartbeat and a few milliseconds, with one
// owner at every moment; passing again, it comes back after the
// hold-down.
func TestFailingCheckHandsOver(t *testing.T) {
	w := checkWorld(t, "Check10.file")
	w.startService()
	aw := w.watch()
	start := time.Now()
	w.touch("Check10.file.fail")
	bound := checkFall*checkEvery + checkEvery + interval + slack
	w.waitAnswerFrom("server2", bound)
	moved := time.Since(start)
	outage, _ := w.probe.LongestGap(start, time.Now())
	t.Logf("answered by server2 %v after the check began to fail (fall %d × %v); the client's longest gap %v",
		moved.Round(time.Millisecond), checkFall, checkEvery, outage.Round(time.Millisecond))
	if moved < (checkFall-1)*checkEvery {
		t.Errorf("moved after %v: before %d failed rounds", moved, checkFall)
	}
	if hasAddr(w.S1) {
		t.Error("server1 kept its service address while unhealthy")
	}
	st := w.status()
	if st.PrimaryHealth.Healthy || !strings.Contains(st.PrimaryHealth.Detail, "Check10.file") || !strings.Contains(st.PrimaryHealth.Detail, "told to fail") {
		t.Errorf("status says the primary's service is %+v", st.PrimaryHealth)
	}
	if text := w.statusText(); !strings.Contains(text, "UNHEALTHY") {
		t.Errorf("failoverctl status does not say the primary is unhealthy:\n%s", text)
	}
	w.waitMail("told to fail")
	if n := strings.Count(w.primary.Output(), "service unhealthy"); n != 1 {
		t.Errorf("heartbeatd said %d times that the service is unhealthy, want once:\n%s", n, w.primary.Output())
	}

	back := time.Now()
	w.rm("Check10.file.fail")
	w.waitAnswerFrom("server1", checkRise*checkEvery+holdDown+2*interval+slack)
	took := time.Since(back)
	t.Logf("answered by server1 again %v after the check passed again (rise %d × %v, hold-down %v)", took.Round(time.Millisecond), checkRise, checkEvery, holdDown)
	if took < holdDown {
		t.Errorf("back after %v: the hold-down of %v was not kept", took, holdDown)
	}
	w.waitState("standby", 2*time.Second)
	noDuplicate(t, aw, start)
}

// A check that hangs is killed at its timeout and counts as failed.
func TestHangingCheckCountsAsFailed(t *testing.T) {
	w := checkWorld(t, "Check10.file")
	w.startService()
	w.touch("Check10.file.hang")
	w.waitAnswerFrom("server2", checkFall*(checkEvery+500*time.Millisecond)+interval+slack)
	if d := w.status().PrimaryHealth.Detail; !strings.Contains(d, "timed out") {
		t.Errorf("the primary's health says %q, want the check timed out", d)
	}
}

// A check that flaps (fail, pass, fail …) never moves the address.
func TestFlappingCheckDoesNotMove(t *testing.T) {
	w := checkWorld(t, "Check10.file")
	w.startService()
	aw := w.watch()
	start := time.Now()
	w.touch("Check10.file.flap")
	// Fifteen rounds: fail, pass, fail … never fall failures in a row.
	if !lab.Stays(15*checkEvery, func() bool { return w.state() == "standby" && hasAddr(w.S1) }) {
		t.Fatalf("a flapping check moved the address: state %s\n%s", w.state(), w.primary.Output())
	}
	if w.state() != "standby" || w.holds(w.S2) || !hasAddr(w.S1) {
		t.Fatalf("a flapping check moved the address: state %s\n%s", w.state(), w.primary.Output())
	}
	if strings.Contains(w.primary.Output(), "service unhealthy") {
		t.Errorf("heartbeatd called a flapping service unhealthy:\n%s", w.primary.Output())
	}
	if n := strings.Count(w.primary.Output(), "a service check failed"); n < 5 {
		t.Errorf("the check failed %d times in 15 rounds: it did not flap", n)
	}
	noDuplicate(t, aw, start)
}
