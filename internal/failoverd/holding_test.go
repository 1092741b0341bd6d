package failoverd

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// While failoverd holds the addresses and hears the primary (automatic
// give-back off: for good), it tells the primary `holding`, signed,
// naming the epoch of the heartbeats it heard, at most once a second,
// however often heartbeats come; never in standby, never while the
// primary is silent, and never after the released of a give-back.
func TestHoldingIsSentWhileActiveAndThePrimaryIsHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, false, func(c *Config) { c.Machine.AutoGiveBack = false })
		w.beatFor(time.Second)
		if n := len(w.peer.packets(t, w.keys)); n != 0 {
			t.Fatalf("%d packets sent to the primary in standby", n)
		}
		w.waitState(failover.Active, time.Second)
		time.Sleep(3 * time.Second) // the primary is silent
		if n := len(w.peer.packets(t, w.keys)); n != 0 {
			t.Fatalf("%d packets sent while the primary is silent", n)
		}

		back := time.Now()
		w.beatFor(3500 * time.Millisecond) // 35 heartbeats on each link
		hs := w.peer.ofType(t, w.keys, wire.Holding)
		if len(hs) != 4 {
			t.Fatalf("%d holding in 3.5 s of heartbeats, want 4 (at once, then one a second)", len(hs))
		}
		for i, p := range hs {
			if p.Message != wire.EpochMessage(primaryEpoch) || p.Sender != "server2" || !p.Authenticated {
				t.Fatalf("holding %d: %+v, want a signed one naming the primary's epoch", i, p)
			}
			if i > 0 && (p.Seq <= hs[i-1].Seq || p.SentAt.Sub(hs[i-1].SentAt) != time.Second) {
				t.Fatalf("holding %d sent %v after the one before (seq %d after %d), want a second", i, p.SentAt.Sub(hs[i-1].SentAt), p.Seq, hs[i-1].Seq)
			}
		}
		if first := hs[0].SentAt.Sub(back); first != 0 {
			t.Fatalf("first holding %v after the primary came back, want at once", first)
		}

		// The operator gives back: no holding while its hooks run, a
		// released naming the epoch, and no holding after it.
		gate := make(chan struct{})
		w.hooks.gate[hooks.PreRel] = gate
		done := w.requestAsync(failover.OpRelease)
		w.waitState(failover.Releasing, time.Second)
		w.beatFor(2 * time.Second)
		if n := len(w.peer.ofType(t, w.keys, wire.Holding)); n != len(hs) {
			t.Fatalf("%d holding while giving back", n-len(hs))
		}
		close(gate)
		if r := <-done; r.Error != "" {
			t.Fatalf("release: %+v", r)
		}
		w.waitState(failover.Standby, time.Second)
		w.beatFor(3 * time.Second)
		all := w.peer.packets(t, w.keys)
		last := all[len(all)-1]
		if last.Type != wire.Released || last.Message != wire.EpochMessage(primaryEpoch) || last.Seq <= hs[len(hs)-1].Seq {
			t.Fatalf("last packet %+v, want the released naming the primary's epoch, after every holding", last)
		}
		if n := len(w.peer.ofType(t, w.keys, wire.Holding)); n != len(hs) {
			t.Fatalf("%d holding in standby after the give-back", n-len(hs))
		}
	})
}

// The original's bare-text heartbeat has no epoch: a failoverd that
// heard only such heartbeats names none in its released, and sends no
// holding (the original heartbeatd would not understand it).
func TestLegacyHeartbeatsNameNoEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true, func(c *Config) { c.Machine.AutoGiveBack = false })
		w.legacyBeat()
		time.Sleep(2 * time.Second)
		w.legacyBeat()
		if n := len(w.peer.packets(t, w.keys)); n != 0 {
			t.Fatalf("%d packets sent for legacy heartbeats, want none", n)
		}
		w.stop()
		rel := w.peer.ofType(t, w.keys, wire.Released)
		if len(rel) != 1 || rel[0].Message != "" {
			t.Fatalf("released %+v, want one naming no epoch", rel)
		}
	})
}

// legacyBeat delivers the original's bare-text heartbeat on each link.
func (w *world) legacyBeat() {
	var hs []monitor.Heard
	for _, l := range links {
		hs = append(hs, monitor.Heard{Link: l, From: senders[l], At: time.Now(), Legacy: true,
			Packet: wire.Packet{Type: wire.Heartbeat, Sender: senders[l].String(), Message: "heartbeat"}})
	}
	w.src.in <- hs
	synctest.Wait()
}

// A primary heard only saying goodbye (it stopped while failoverd
// restarted) is named by the released of the give-back that follows.
func TestGoodbyesEpochIsNamedInTheReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, true)
		w.goodbye("priv0")
		w.stop()
		rel := w.peer.ofType(t, w.keys, wire.Released)
		if len(rel) != 1 || rel[0].Message != wire.EpochMessage(primaryEpoch) {
			t.Fatalf("released %+v, want one naming the epoch of the goodbye", rel)
		}
	})
}

// A holding or released that cannot be sent is a warning in the log,
// with what it costs; one that goes is not.
func TestUnsentMessagesToThePrimaryAreWarnings(t *testing.T) {
	for _, fail := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, true, func(c *Config) { c.Machine.AutoGiveBack = false })
			if fail {
				w.peer.fail = errors.New("sendto: network is unreachable")
			}
			w.beat(links...)
			w.stop()
			holding := w.logs.lines("level=WARN", "could not tell the primary this host holds the addresses")
			released := w.logs.lines("level=WARN", "could not tell the primary the addresses are released", "it re-announces them at its next start or SIGHUP")
			if fail && (len(holding) != 1 || len(released) != 1 || !strings.Contains(holding[0], "network is unreachable")) {
				t.Fatalf("sends failed, warnings: holding %q, released %q", holding, released)
			}
			if !fail && (len(holding) != 0 || len(released) != 0) {
				t.Fatalf("sends went, yet warnings: holding %q, released %q", holding, released)
			}
			if told := w.logs.lines("level=INFO", "told the primary the addresses are released"); len(told) != btoi(!fail) {
				t.Fatalf("sends failed %v, yet logged as told: %q", fail, told)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
