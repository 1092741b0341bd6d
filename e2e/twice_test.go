package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// heartbeatd started a second time with the same configuration while the
// first runs (by hand, beside the service): it is refused at once with
// exit 1, naming the first's pid, and sends nothing, so failoverd goes on
// hearing the first run alone and the first runs on. Before, the second
// only warned that it would not hear the secondary's released: failoverd
// took its run for the newer and dropped every heartbeat of the first as
// a replay, and the second's goodbye, when it stopped, made failoverd
// take over from a live primary.
func TestASecondHeartbeatdIsRefusedWhileTheFirstRuns(t *testing.T) {
	w := newWorld(t)
	w.start()
	epoch := w.status().PeerEpoch
	if epoch == 0 {
		t.Fatalf("failoverd names no epoch of the primary:\n%s", w.statusText())
	}

	second := w.S1.Start(filepath.Join(bin, "heartbeatd"), "-d", "--config", filepath.Join(w.dir, "heartbeatd.conf"),
		"--interval", interval.String(), lab.PrivBroadcast, lab.PubBroadcast)
	if code := second.Wait(5 * time.Second); code != 1 {
		t.Fatalf("a second heartbeatd beside the first: exit %d after 5s (-1: still running), want 1:\n%s", code, second.Output())
	}
	want := fmt.Sprintf("another heartbeatd (pid %d) runs and answers on %s", w.primary.Cmd.Process.Pid, filepath.Join(w.dir, "heartbeatd.sock"))
	if !strings.Contains(second.Output(), want) {
		t.Fatalf("the refusal does not say %q:\n%s", want, second.Output())
	}
	if strings.Contains(second.Output(), "heartbeatd started") {
		t.Fatalf("the second heartbeatd started before it was refused:\n%s", second.Output())
	}

	// The first runs on, and failoverd hears its run only, dropping
	// nothing as a replay.
	if !lab.Stays(10*interval, func() bool {
		st := w.status()
		return w.primary.Wait(0) == -1 && st.State == "standby" && st.PeerEpoch == epoch
	}) {
		t.Fatalf("after the refused start: heartbeatd exited %d, failoverd:\n%s", w.primary.Wait(0), w.statusText())
	}
	for _, l := range w.status().Links {
		if n := l.Dropped[wire.DropReplay]; n != 0 {
			t.Fatalf("failoverd dropped %d heartbeats on %s as replays:\n%s", n, l.Name, w.statusText())
		}
	}
}

// A second heartbeatd that the lock cannot stop (given a socket of its
// own, or of a version without one) beside the first: failoverd takes the
// second's run for the newer and drops the first's heartbeats as replays,
// as it must; it says so in one two-runs notice, naming both runs, while
// both send and not again after the second stops and the first goes on.
// Before, it said nothing, and stayed deaf to the first until heartbeatd
// was restarted.
func TestFailoverdSaysSoWhenTwoHeartbeatdRunsSend(t *testing.T) {
	w := newWorld(t)
	w.start()
	first := w.status().PeerEpoch
	second := w.S1.Start(filepath.Join(bin, "heartbeatd"), "-d", "--config", filepath.Join(w.dir, "heartbeatd.conf"),
		"--lock-socket", filepath.Join(w.dir, "other.sock"), "--interval", interval.String(), lab.PrivBroadcast, lab.PubBroadcast)
	w.waitMail("heartbeats of two heartbeatd runs from " + lab.Server1Priv)
	mail := w.mails()
	// Whichever link brought the older run's first packet after the
	// newer one's.
	flat := strings.Join(strings.Fields(mail), " ")
	want := fmt.Sprintf("run (epoch) %d, from ", first)
	if !strings.Contains(flat, want) || !strings.Contains(flat, "go on after run") {
		t.Errorf("the notice does not name the first run (%q):\n%s", want, mail)
	}
	must(t, second.Signal(syscall.SIGTERM))
	if code := second.Wait(5 * time.Second); code != 0 {
		t.Fatalf("second heartbeatd: exit %d", code)
	}
	// The first goes on, still dropped as replays; nothing more is said.
	if !lab.Stays(20*interval, func() bool { return w.primary.Wait(0) == -1 && twoRunsMails(w) == 1 }) {
		t.Fatalf("after the second stopped: heartbeatd exited %d, mails:\n%s", w.primary.Wait(0), w.mails())
	}
}

// twoRunsMails counts the two-runs notices mailed.
func twoRunsMails(w *world) int {
	return strings.Count(strings.Join(strings.Fields(w.mails()), " "), "Event: two-runs")
}
