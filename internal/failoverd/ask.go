package failoverd

import (
	"context"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Asker asks the link who answers for the addresses and reports the
// answers from other hosts (takeover.AddressAsker).
type Asker = takeover.Questioner

// asks sends the questions as often as the machine wants them, until ctx
// ends. It sleeps on askWake while the machine wants none.
func (d *Daemon) asks(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var lastErr time.Time
	for {
		d.mu.Lock()
		every := d.machine.Asking()
		d.mu.Unlock()
		if every == 0 {
			select {
			case <-ctx.Done():
				return
			case <-d.askWake:
			}
			continue
		}
		if err := d.Asker.AskAll(d.cfg.Addresses); err != nil && time.Since(lastErr) >= time.Second {
			lastErr = time.Now()
			d.log.Warn("cannot ask who answers for the addresses", "err", err)
		}
		t.Reset(every)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// wakeAsker starts the questions at once when the machine wants them.
// d.mu is held.
func (d *Daemon) wakeAsker() {
	if d.Asker == nil || d.machine.Asking() == 0 {
		return
	}
	select {
	case d.askWake <- struct{}{}:
	default:
	}
}

// answered applies an answer from another host.
func (d *Daemon) answered(a takeover.Answer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(failover.Answer{At: a.At, Addr: a.Addr.String(), MAC: a.MAC.String()}, nil)
	d.rearm()
}

// askNow asks a round of questions and says whether another host
// answered since: the check before an operator's acquire.
func (d *Daemon) askNow(ctx context.Context, wait time.Duration) (failover.Answering, bool) {
	start := d.Clock.Now()
	if err := takeover.AskRound(ctx, d.Asker, d.cfg.Addresses, wait); err != nil && ctx.Err() == nil {
		d.log.Warn("cannot ask who answers for the addresses", "err", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.machine.Answering(d.Clock.Now())
	return a, ok && !a.At.Before(start)
}
