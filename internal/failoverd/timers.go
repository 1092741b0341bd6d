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
func (d *Daemon) ticks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.timer.C():
		}
		d.mu.Lock()
		now := d.Clock.Now()
		d.armedFor = time.Time{}
		if !d.stopping {
			d.apply(failover.Tick{At: now}, nil)
		}
		d.rearm(now)
		d.mu.Unlock()
		if d.Watchdog != nil {
			d.Watchdog.Alive(now)
		}
	}
}

// rearm sets the timer for the machine's next deadline (at most maxSleep
// away). A deadline that moved later needs no new setting: the timer
// fires at the old one, finds nothing due, and is set again then. At a
// 10 ms interval that saves a timer system call at nearly every
// heartbeat. d.mu is held.
func (d *Daemon) rearm(now time.Time) {
	want := now.Add(maxSleep)
	if next := d.machine.NextDeadline(); !next.IsZero() && next.Before(want) {
		want = next
	}
	if d.armedFor.After(now) && !want.Before(d.armedFor) {
		return // it fires first, and is set again then
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
