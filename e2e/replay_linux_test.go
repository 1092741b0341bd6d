package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// A recording of an earlier heartbeatd's heartbeats, replayed from the
// primary's address after heartbeatd and then failoverd restarted, does
// not blind failoverd: every recorded packet is dropped, every live one
// is heard, and nothing is suspected. failoverd used to adopt the dead
// epoch and drop the live heartbeats as replays until heartbeatd
// restarted again, and ran Test against the live primary as a conflict.
//
// With its state file, the restarted failoverd knows the recorded epoch
// was left behind (replay); without one (FAILOVER_STATE_DIR empty), it
// refuses an epoch older than the live one (stale-epoch).
func TestReplayedRecordingAfterRestarts(t *testing.T) {
	for _, tc := range []struct {
		name, stateDir string
		reason         wire.DropReason
	}{
		{"with the state file", "", wire.DropReplay},
		{"without a state file", "FAILOVER_STATE_DIR=", wire.DropStaleEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []option
			if tc.stateDir != "" {
				opts = append(opts, withConf(tc.stateDir))
			}
			replayAfterRestarts(t, tc.reason, opts...)
		})
	}
}

func replayAfterRestarts(t *testing.T, reason wire.DropReason, opts ...option) {
	key := filepath.Join(t.TempDir(), "key")
	must(t, os.WriteFile(key, []byte("a secret of thirty-two bytes, ok\n"), 0o600))
	w := newWorld(t, append(opts, withConf("FAILOVER_AUTH_KEY_FILE="+key), withPrimaryConf("FAILOVER_AUTH_KEY_FILE="+key))...)
	w.start()

	// An eavesdropper on the public switch records the heartbeats.
	all, err := lab.Record(w.Client, 1694, 3*time.Second)
	must(t, err)
	var rec []lab.Datagram
	var recorded uint64
	for _, d := range all {
		if p, err := wire.Decode(d.Payload); err == nil && p.Type == wire.Heartbeat && d.From.Addr() == netip.MustParseAddr(lab.Server1Pub) {
			rec, recorded = append(rec, d), p.Epoch
		}
	}
	if len(rec) < 20 {
		t.Fatalf("recorded %d heartbeats in 3 s at a %v interval", len(rec), interval)
	}

	// heartbeatd dies and comes back (a new epoch), then failoverd
	// restarts and hears it.
	must(t, w.primary.Signal(syscall.SIGKILL))
	w.primary.Wait(5 * time.Second)
	w.startPrimary()
	if !lab.WaitFor(5*time.Second, func() bool { e := w.status().PeerEpoch; return e != 0 && e != recorded }) {
		t.Fatalf("failoverd did not hear the restarted heartbeatd:\n%s", w.statusText())
	}
	must(t, w.secondary.Signal(syscall.SIGKILL))
	w.secondary.Wait(5 * time.Second)
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.waitHeardOnEveryLink(3 * time.Second)
	live := w.status().PeerEpoch
	if live == recorded {
		t.Fatalf("the restarted failoverd's epoch is the recorded one (%d)", live)
	}
	logAt := len(w.secondary.Output())
	before := w.link("pub0")

	// The recording, replayed from the primary's address at its pace.
	replayed := make(chan int, 1)
	go func() {
		n, err := lab.Replay(w.Client, rec, netip.AddrPortFrom(netip.MustParseAddr(lab.PubBroadcast), 1694))
		if err != nil {
			t.Error(err)
		}
		replayed <- n
	}()
	hearsLive := func() bool {
		st := w.status()
		if st.State != "standby" || st.PeerEpoch != live {
			return false
		}
		for _, l := range st.Links {
			if !l.Alive {
				return false
			}
		}
		return true
	}
	if !lab.Stays(rec[len(rec)-1].At.Sub(rec[0].At)+timeout+interval, hearsLive) {
		t.Fatalf("during the replay of epoch %d, failoverd stopped hearing the live epoch %d:\n%s\nfailoverd since the replay:\n%s",
			recorded, live, w.statusText(), w.secondary.Output()[logAt:])
	}
	sent := <-replayed

	// Every recorded packet was dropped on the public link, and nothing
	// else: no live heartbeat was taken for a replay.
	after := w.link("pub0")
	var dropped uint64
	for r, n := range after.Dropped {
		dropped += n - before.Dropped[r]
	}
	t.Logf("replayed %d heartbeats of epoch %d (%v of recording) against the live epoch %d: %d dropped (%v before, %v after); %d live heartbeats accepted on pub0 meanwhile",
		sent, recorded, rec[len(rec)-1].At.Sub(rec[0].At).Round(time.Millisecond), live, dropped, before.Dropped, after.Dropped, after.Received-before.Received)
	if dropped != uint64(sent) || after.Dropped[reason]-before.Dropped[reason] != dropped {
		t.Errorf("%d packets dropped on pub0 during the replay of %d, %d of them as %s: a live heartbeat was dropped, or a recorded one accepted, or the wrong rule refused them",
			dropped, sent, after.Dropped[reason]-before.Dropped[reason], reason)
	}
	if out := w.secondary.Output()[logAt:]; strings.Contains(out, "conflict") || strings.Contains(out, "stage=Test") {
		t.Errorf("failoverd suspected the live primary during the replay:\n%s", out)
	}
}
