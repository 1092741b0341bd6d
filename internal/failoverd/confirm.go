package failoverd

import (
	"context"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// CarrierWatch reports the carrier of the named links, at once and at
// every change, until ctx ends (carrier.Watch).
type CarrierWatch func(ctx context.Context, links []string, report func(link string, up bool)) error

// A probe is one ARP request (or neighbour solicitation) for the address
// the primary's heartbeats come from on a link: the private address on
// the private link, its own public address on a public one. Its kernel
// answers it whether or not heartbeatd runs.
type probe struct {
	link string
	addr netip.Addr // invalid: no address known for the link
}

// probesDueLocked returns the probes the machine wants now (its last
// Probe).
func (d *Daemon) probesDueLocked() []probe {
	if len(d.probeLinks) == 0 {
		return nil
	}
	out := make([]probe, len(d.probeLinks))
	for i, l := range d.probeLinks {
		out[i] = probe{link: l, addr: d.targets[l]}
	}
	return out
}

// sendProbes sends the probes and returns the links a probe went out
// on. A link whose probe could not be sent is not counted, so the round
// cannot confirm the primary gone: the timeout decides. (The machine
// names no link without carrier.) Called by the asks goroutine only.
func (d *Daemon) sendProbes(ps []probe) []string {
	var probed []string
	for _, p := range ps {
		if !p.addr.IsValid() {
			d.probeTrouble("no address heard from the primary on the link, so it cannot be probed there", p.link, nil)
			continue
		}
		if !d.watched[p.addr] {
			if err := d.Asker.Watch(p.addr); err != nil {
				d.probeTrouble("cannot hear the primary's host answer", p.link, err)
				continue
			}
			d.watched[p.addr] = true
		}
		if n, err := d.Asker.AskAll([]neighbor.Question{{Interface: p.link, Addr: p.addr}}); n == 0 {
			d.probeTrouble("cannot probe the primary's host", p.link, err)
			continue
		}
		probed = append(probed, p.link)
	}
	return probed
}

// drainAnswers takes the answers that arrived but wait unread, before
// unanswered probes are counted: a reader short of CPU must not let a
// live host pass for a dead one. d.mu must not be held.
func (d *Daemon) drainAnswers() { d.Asker.Drain() }

// probeTrouble logs why a link could not be probed, once a minute at
// most.
func (d *Daemon) probeTrouble(msg, link string, err error) {
	if now := time.Now(); now.Sub(d.probeWarned) >= time.Minute {
		d.probeWarned = now
		d.log.Warn(msg+"; the timeout decides", "link", link, "err", err)
	}
}

// learnTargetLocked records the address the primary's heartbeats came from
// on a link. It runs at every heartbeat: past one map lookup, only a new
// sender costs anything.
func (d *Daemon) learnTargetLocked(link string, from netip.Addr) {
	if from = from.Unmap(); !from.IsValid() {
		return // nothing to learn
	}
	if d.froms[link] == from {
		return
	}
	d.froms[link] = from
	if d.cfg.OnLink != nil && !d.cfg.OnLink(link, from) {
		// Behind a router (a unicast target): nothing answers its ARP
		// here, so the link cannot be probed, and never confirms.
		delete(d.targets, link)
		return
	}
	d.targets[link] = from
}

// probeLinkLocked says on which link an answer from addr answers a probe.
func (d *Daemon) probeLinkLocked(a neighbor.Answer) (string, bool) {
	if t, ok := d.targets[a.Interface]; ok && t == a.Addr.Unmap() {
		return a.Interface, true
	}
	if a.Interface == "" {
		for l, t := range d.targets {
			if t == a.Addr.Unmap() {
				return l, true
			}
		}
	}
	return "", false
}

// watchCarrier feeds the links' carrier to the machine until ctx ends,
// watching again a second after a failure.
func (d *Daemon) watchCarrier(ctx context.Context) {
	report := func(link string, up bool) {
		d.mu.Lock()
		defer d.mu.Unlock()
		now := d.Clock.Now()
		if up {
			d.log.Info("carrier", "link", link, "up", true)
		} else {
			d.log.Warn("carrier lost", "link", link)
		}
		d.obs.Carrier(link, up, now)
		d.applyLocked(failover.Carrier{At: now, Link: link, Up: up}, nil)
		d.rearmLocked()
	}
	for ctx.Err() == nil {
		err := d.Carrier(ctx, d.cfg.Machine.Links, report)
		if ctx.Err() != nil {
			return
		}
		d.log.Error("cannot watch the links' carrier; watching again in a second", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
