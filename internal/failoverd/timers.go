package failoverd

import (
	"context"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
)

// maxSleep bounds the time between two ticks, so that the watchdog sees
// the loop at least this often.
const maxSleep = time.Second

// ticks applies a tick whenever the deadline timer fires, until ctx ends.
// First it takes what the sockets hold: a heartbeat that arrived before
// the deadline but waited unread (the process was busy, or short of CPU)
// must not let a link be counted silent.
func (d *Daemon) ticks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.timer.C():
		}
		// The time is read first: what arrived by then, heartbeats and
		// probe answers waiting unread, is taken before the tick.
		now := d.Clock.Now()
		d.Source.Drain(d.heard)
		if d.probeOn.Load() || d.asking.Load() {
			// The round, or a conflict, may end at this tick: an
			// answer waiting unread must count first.
			d.drainAnswers()
		}
		d.mu.Lock()
		d.armedFor = time.Time{}
		d.applyLocked(failover.Tick{At: now}, nil)
		d.rearmLocked()
		d.mu.Unlock()
		if d.Watchdog != nil {
			d.Watchdog.Alive(now)
		}
	}
}

// rearmLocked sets the timer for the machine's next deadline (at most
// maxSleep away). A timer that fires before its deadline wakes the process
// for nothing, which costs several times more than setting it; setting it
// is one system call. So a deadline that moved later is set only when
// the timer would otherwise fire before the next heartbeat is due (within
// one and a half of the primary's intervals): at a 10 ms interval and the
// default dead count that is every other heartbeat, and a timer that
// fires early is set again then.
func (d *Daemon) rearmLocked() {
	now := d.Clock.Now()
	want := now.Add(maxSleep)
	if next := d.deadline; !next.IsZero() && next.Before(want) {
		want = next
	}
	if want.Equal(d.armedFor) {
		return
	}
	if want.After(d.armedFor) && d.armedFor.Sub(now) > d.peerInterval*3/2 {
		return
	}
	wait := want.Sub(now)
	if wait <= 0 {
		// A deadline already past after the machine saw the time: never
		// spin on it.
		wait = time.Millisecond
	}
	d.armedFor = now.Add(wait)
	d.timer.Reset(wait, 0)
}
