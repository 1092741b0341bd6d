package failoverd

import (
	"context"
	"fmt"
	"slices"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// heard applies the packets a socket yielded at one wakeup, in the
// goroutine that read them, and sets the deadline timer once for them.
// A packet of the primary's addresses that was dropped is told to the
// machine as such (failover.Refused), never as a heartbeat.
func (d *Daemon) heard(hs []monitor.Heard) {
	if len(hs) == 0 {
		return
	}
	accepted := hs
	if slices.ContainsFunc(hs, dropped) {
		accepted = slices.DeleteFunc(slices.Clone(hs), dropped)
	}
	beat := d.primaryHeard(accepted)
	d.mu.Lock()
	for _, h := range hs {
		if dropped(h) {
			beside := d.heardLocked(h.At)
			e := failover.Refused{At: h.At, Link: h.Link, Why: refusedWhy(h), Auth: h.Auth.Refused}
			if beside && h.Auth.Refused {
				e.Beside = besideWhy(h.Auth)
			}
			d.applyLocked(e, nil)
			d.watchAuthLocked(h, beside)
			continue
		}
		d.learnTargetLocked(h.Link, h.From)
		hb := heartbeatOf(h)
		_, hb.Own = d.takes[h.From]
		d.applyLocked(hb, nil)
		d.watchAuthLocked(h, false)
	}
	d.rearmLocked()
	if beat {
		d.tellHoldingLocked()
	}
	d.mu.Unlock()
	now := hs[len(hs)-1].At
	// While heartbeats keep moving the deadline the timer never fires:
	// the watchdog hears from here.
	if d.Watchdog != nil {
		d.Watchdog.Alive(now)
	}
}

// heartbeatOf is the machine's event for an accepted packet. Its MAC is
// the one the packet says it left by, signed with the rest when a key is
// set: the only way the machine learns the primary's MAC.
func heartbeatOf(h monitor.Heard) failover.Heartbeat {
	p := h.Packet
	return failover.Heartbeat{At: h.At, Link: h.Link, Interval: p.Interval, Goodbye: p.Type == wire.Goodbye,
		Unhealthy: p.Unhealthy, Yielded: p.Yielded, Detail: p.Message, MAC: p.HardwareAddr.String()}
}

// oldRuns sends a notice for each run of the primary that a newer one
// replaced and that still sends, until ctx ends. The replay guard keeps
// dropping its heartbeats: a recording must never be accepted, and the
// signed send time that tells a live run from one is what a recording of
// two runs at once carries too.
func (d *Daemon) oldRuns(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-d.Source.OldRuns():
			d.mu.Lock()
			d.noticeLocked(notice.TwoRuns, oldRunDetail(o), nil)
			d.mu.Unlock()
		}
	}
}

// oldRunDetail says what an OldRun means and what to do.
func oldRunDetail(o monitor.OldRun) string {
	return fmt.Sprintf("heartbeats of the primary's heartbeatd run (epoch) %d, from %s on %s, go on after run %d replaced it: "+
		"they are signed as sent after that run's latest packet, so two heartbeatd send for the primary at once "+
		"(one with another FAILOVER_LOCK_SOCKET, or of an older version, beside the service), or a recording of such a time is replayed. "+
		"failoverd drops run %d's heartbeats as replays and hears run %d alone; when that one stops, it takes the primary for gone "+
		"(a takeover, or a conflict while the host answers) although run %d may still send. "+
		"Stop the extra heartbeatd on the primary and restart the one that stays: its new run is heard at once",
		o.Epoch, o.From, o.Link, o.Current, o.Epoch, o.Current, o.Epoch)
}

// dropped says h is a packet of the primary's addresses that was
// dropped, not accepted.
func dropped(h monitor.Heard) bool { return h.Dropped != "" }

// refusedWhy says in words why h was dropped: how it stood with the
// keys, or the reason it was dropped for.
func refusedWhy(h monitor.Heard) string {
	if h.Auth.Refused {
		return h.Auth.String()
	}
	return "heard, but dropped as " + string(h.Dropped)
}
