// Package fdtimer is a timer for the daemons' hot loops that, on Linux,
// lives outside Go's runtime: a timerfd that the network poller watches.
//
// Two costs of Go's own timers show at a 10 ms heartbeat interval. Their
// sleeps are in whole milliseconds, rounded down, so one expiry takes
// several wakeups. And while any Go timer is pending, the runtime's
// monitor thread wakes when it is due and about every 10 ms after, even
// when the timer was moved later in the meantime, as failoverd's deadline
// is at every heartbeat. A timerfd expires with one wakeup, and the
// monitor thread does not see it.
package fdtimer

import (
	"sync"
	"time"
)

// Timer sends the time on C when it expires: once after first, then every
// interval when interval > 0. Like a time.Ticker it drops expiries that
// the reader is not ready for.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer: first expiry after first (zero or less:
	// at once), then every interval (0: only once). An expiry delivered
	// but not yet received is dropped.
	Reset(first, interval time.Duration)
	// Stop disarms the timer for good and frees it; Reset after Stop
	// does nothing.
	Stop()
}

// New starts a timer; where there is no timerfd it is one of Go's.
func New(first, interval time.Duration) Timer {
	if t, err := newFD(first, interval); err == nil {
		return t
	}
	return NewGo(first, interval)
}

// drain drops a value waiting in c.
func drain(c chan time.Time) {
	select {
	case <-c:
	default:
	}
}

// goTimer is Timer made of time.AfterFunc, re-armed for each expiry. The
// generation tells an expiry that a Reset or Stop has replaced it.
type goTimer struct {
	c chan time.Time

	mu       sync.Mutex // held by the methods named …Locked
	t        *time.Timer
	next     time.Time // when the pending expiry is due
	interval time.Duration
	gen      int
	stopped  bool
}

// NewGo starts a timer made of Go's own timers, which testing/synctest's
// fake clock drives.
func NewGo(first, interval time.Duration) Timer {
	g := &goTimer{c: make(chan time.Time, 1)}
	g.Reset(first, interval)
	return g
}

// armLocked schedules the expiry at g.next for the current generation.
func (g *goTimer) armLocked() {
	gen := g.gen
	g.t = time.AfterFunc(max(time.Until(g.next), 0), func() { g.fire(gen) })
}

func (g *goTimer) fire(gen int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gen != g.gen {
		return
	}
	now := time.Now()
	select {
	case g.c <- now:
	default:
	}
	if g.interval > 0 {
		// Keep to the schedule, not to when this expiry ran; skip the
		// expiries that are already past, as a time.Ticker does.
		g.next = g.next.Add(g.interval)
		for !g.next.After(now) {
			g.next = g.next.Add(g.interval)
		}
		g.armLocked()
	}
}

func (g *goTimer) C() <-chan time.Time { return g.c }

func (g *goTimer) Reset(first, interval time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.cancelLocked()
	drain(g.c)
	g.interval = interval
	g.next = time.Now().Add(max(first, 0))
	g.armLocked()
}

func (g *goTimer) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	g.cancelLocked()
}

// cancelLocked drops the pending expiry.
func (g *goTimer) cancelLocked() {
	g.gen++
	if g.t != nil {
		g.t.Stop()
	}
}
