package failoverd

import (
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// heard applies the packets a socket yielded at one wakeup, in the
// goroutine that read them, and sets the deadline timer once for them.
func (d *Daemon) heard(hs []monitor.Heard) {
	if len(hs) == 0 {
		return
	}
	d.mu.Lock()
	for _, h := range hs {
		d.learnTarget(h.Link, h.From)
		d.apply(failover.Heartbeat{At: h.At, Link: h.Link, Interval: h.Packet.Interval, Goodbye: h.Packet.Type == wire.Goodbye,
			Unhealthy: h.Packet.Unhealthy, Yielded: h.Packet.Yielded, Detail: h.Packet.Message}, nil)
	}
	d.rearm()
	d.mu.Unlock()
	now := hs[len(hs)-1].At
	// While heartbeats keep moving the deadline the timer never fires:
	// the watchdog hears from here.
	if d.Watchdog != nil {
		d.Watchdog.Alive(now)
	}
}
