package failoverd

import (
	"context"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// Asker asks the link who answers for the addresses and for the
// primary's host, and reports the answers from other hosts.
type Asker = neighbor.Asker

// asks sends the questions as often as the machine wants them, until ctx
// ends. It sleeps on askWake while the machine wants none.
func (d *Daemon) asks(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var lastErr time.Time
	for {
		d.mu.Lock()
		every := d.askEvery
		probes := d.probesDueLocked()
		d.mu.Unlock()
		if every == 0 {
			select {
			case <-ctx.Done():
				return
			case <-d.askWake:
			}
			continue
		}
		// An address that cannot be asked for (its interface gone) does
		// not keep the others from counting: it cannot be added there
		// either. sent: what goes out from now counts only if its link
		// keeps carrier from before it (the machine checks).
		sent := d.Clock.Now()
		n, err := d.Asker.AskAll(d.questions)
		if err != nil && time.Since(lastErr) >= time.Second {
			lastErr = time.Now()
			d.log.Warn("cannot ask who answers for an address", "err", err)
		}
		probed := d.sendProbes(probes)
		// The time is read before what waits unread is taken: an answer
		// or a heartbeat that arrived by now is seen before a decision
		// made as of now.
		now := d.Clock.Now()
		d.Source.Drain(d.heard)
		d.drainAnswers()
		if !d.hearing.Load() {
			// Nothing listens for answers (the listener is being started
			// again): a question now would count as unanswered.
			n, probed = 0, nil
		}
		if n > 0 || len(probed) > 0 {
			d.mu.Lock()
			if n > 0 {
				d.applyLocked(failover.Asked{At: now, Sent: sent}, nil)
			}
			for _, l := range probed {
				d.applyLocked(failover.Probed{At: now, Link: l, Sent: sent}, nil)
			}
			d.rearmLocked()
			d.mu.Unlock()
		}
		t.Reset(every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.askWake: // a new pace (a goodbye): ask now
		}
	}
}

// askAtLocked carries out the machine's Ask: the questions go every
// every from now on, the first at once; zero: no more.
func (d *Daemon) askAtLocked(every time.Duration) {
	if d.Asker == nil {
		return
	}
	d.askEvery = every
	d.asking.Store(every != 0)
	if every == 0 {
		return
	}
	select {
	case d.askWake <- struct{}{}:
	default:
	}
}

// answered applies an answer from another host: for an address to take
// (someone holds it), for the primary's own address on a link (its host
// answered a probe), or both (the primary's public address, in
// host-address mode).
func (d *Daemon) answered(a neighbor.Answer) {
	d.log.Debug("answered", "addr", a.Addr, "mac", a.MAC.String(), "on", a.Interface, "at", a.At.Format("15:04:05.000000"))
	d.mu.Lock()
	defer d.mu.Unlock()
	if link, ok := d.probeLinkLocked(a); ok {
		d.applyLocked(failover.ProbeAnswer{At: a.At, Link: link, MAC: a.MAC.String()}, nil)
	}
	// Only on the address's own link: a host names any of its addresses
	// as the sender of its ARP on any link (Linux's arp_announce 0), so
	// the primary coming back on its private link says nothing yet of
	// who answers on the public one.
	if iface, ok := d.takes[a.Addr.Unmap()]; ok && (a.Interface == "" || a.Interface == iface) {
		d.applyLocked(failover.Answered{At: a.At, Addr: a.Addr.String(), MAC: a.MAC.String()}, nil)
	}
	d.rearmLocked()
}

// askNow asks a round of questions over the suspicion's window and says
// whether another host answered since: the check before an operator's
// acquire, who can wait that long. Silence says nothing where a link of
// the addresses was dark while it asked, or is told so up to an eighth
// of the interval late: dark names that link.
func (d *Daemon) askNow(ctx context.Context) (a failover.Answering, answered bool, dark string) {
	start := d.Clock.Now()
	d.mu.Lock()
	st := d.machine.Status(start)
	d.mu.Unlock()
	if err := neighbor.AskRound(ctx, d.Asker, d.questions, st.AskWindow); err != nil && ctx.Err() == nil {
		d.log.Warn("cannot ask who answers for the addresses", "err", err)
	}
	d.drainAnswers() // a reader short of CPU must not hide an answer
	if a, ok := d.answeredSince(start); ok {
		return a, true, ""
	}
	t := time.NewTimer(st.CarrierGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	d.mu.Lock()
	st = d.machine.Status(d.Clock.Now())
	d.mu.Unlock()
	if st.Lit.Link != "" && !st.Lit.Before(start) {
		return failover.Answering{}, false, st.Lit.Link
	}
	d.drainAnswers()
	a, answered = d.answeredSince(start)
	return a, answered, ""
}

// answeredSince returns the latest answer from another host if it came
// at t or later.
func (d *Daemon) answeredSince(t time.Time) (failover.Answering, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.machine.Status(d.Clock.Now()).Answering
	if a == nil || a.At.Before(t) {
		return failover.Answering{}, false
	}
	return *a, true
}
