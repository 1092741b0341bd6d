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
	beat := d.primaryHeard(hs)
	d.mu.Lock()
	for _, h := range hs {
		d.learnTargetLocked(h.Link, h.From)
		hb := heartbeatOf(h)
		_, hb.Own = d.takes[h.From]
		d.applyLocked(hb, nil)
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
