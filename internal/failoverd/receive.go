package failoverd

import (
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// heard applies one accepted packet, in the goroutine that read it.
func (d *Daemon) heard(h monitor.Heard) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return
	}
	d.apply(failover.Heartbeat{At: h.At, Link: h.Link, Interval: h.Packet.Interval, Goodbye: h.Packet.Type == wire.Goodbye}, nil)
	d.rearm(h.At)
}
