package failoverd

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/standby"
)

// Standbys announces this host to the other standbys of its primary and
// hears theirs (standby.Conn).
type Standbys interface {
	Announce(s standby.Self, interval time.Duration, now time.Time) (int, error)
	Run(ctx context.Context, deliver func(standby.Peer)) error
	Stats() standby.Stats
}

var _ Standbys = (*standby.Conn)(nil)

// standbyState is what the daemon keeps of the other standbys; d.mu.
type standbyState struct {
	table *standby.Table
	ties  map[string]bool // the standbys of this host's priority told of
	poke  chan struct{}   // announce now: this host's standing changed
	said  standby.Self    // as last announced
}

// selfLocked is this host as the others are told of it. It is not
// eligible while a link the addresses are on has no carrier, nor while
// nothing listens for the answers to its questions: its questions then
// prove nothing free, so it would not take them, and a standby below it
// may. Nor, with an arbiter, while the majority's last round did not
// reach it or it has no lease: it may claim nothing.
func (d *Daemon) selfLocked() standby.Self {
	st := d.machine.Status(d.Clock.Now())
	deaf := d.Asker != nil && !d.hearing.Load()
	return standby.Self{Name: d.cfg.Node, Priority: d.cfg.Priority, Holding: st.Holding && len(d.Mover.Holding()) > 0,
		Eligible: !d.stopping && st.State != failover.Held && st.State != failover.Vetoed && !st.Lit.Dark && !deaf && d.mayClaim()}
}

// mayClaim: without an arbiter, or with one whose last round reached the
// majority, under a lease.
func (d *Daemon) mayClaim() bool {
	if d.Arbiter == nil {
		return true
	}
	st := d.Arbiter.Status()
	return st.Reachable && st.Lease != 0
}

// runStandbys announces this host every interval of the primary's (and
// at once when its standing changes), hears the others, and tells the
// machine whom it yields to, until ctx ends.
func (d *Daemon) runStandbys(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := d.Standbys.Run(ctx, d.heardStandby); err != nil && ctx.Err() == nil {
				d.log.Error("cannot hear the other standbys; listening again in a second", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}()
	for {
		d.mu.Lock()
		self := d.selfLocked()
		d.sb.said = self
		every := d.machine.Status(d.Clock.Now()).PeerInterval
		d.updateYieldLocked()
		d.mu.Unlock()
		if _, err := d.Standbys.Announce(self, every, d.Clock.Now()); err != nil {
			d.log.Debug("announcing this standby", "err", err)
		}
		select {
		case <-ctx.Done():
			<-done
			return
		case <-time.After(every):
		case <-d.sb.poke:
		}
	}
}

// heardStandby takes one announcement of another standby.
func (d *Daemon) heardStandby(p standby.Peer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.sb.table.Heard(p, d.lifeLocked(d.Clock.Now())) {
		d.log.Warn("too many standbys heard; this one is not counted", "standby", p.Name, "from", p.From, "most", standby.MaxPeers)
		return
	}
	d.updateYieldLocked()
}

// updateYieldLocked tells the machine whom this host yields to, when that
// changed: the arbiter first, then the other standbys; and tells of a
// standby of this host's priority.
func (d *Daemon) updateYieldLocked() {
	if d.Standbys == nil && d.Arbiter == nil {
		return
	}
	now := d.Clock.Now()
	life := d.lifeLocked(now)
	self := d.selfLocked()
	y, ok := d.arbiterYieldLocked(self.Holding)
	if d.Standbys != nil {
		d.tiesLocked(self, now, life)
		if !ok {
			sy := d.sb.table.Yield(self, now, life)
			y = failover.Yield{To: sy.To, Priority: sy.Priority, Holds: sy.Holds, Above: sy.Above, Lower: sy.Lower}
		}
	}
	if d.Arbiter != nil {
		d.linksCutLocked(y, now)
	}
	d.publishStandingLocked(y, now)
	if y == d.told {
		return
	}
	d.told = y
	what := "nothing stands in this host's way: no other standby holds the addresses or ranks above it"
	if d.Arbiter != nil {
		what = "nothing stands in this host's way: the arbiter names no other holder, and no other standby holds the addresses or ranks above it"
	}
	switch {
	case y.To != "" || y.Arbiter:
		what = failover.Yielding{To: y.To, Priority: y.Priority, Holds: y.Holds, Arbiter: y.Arbiter}.Words()
	case y.Lower != "":
		what = "standby " + y.Lower + " holds the addresses too; it ranks below this host and gives them back"
	}
	d.log.Info(what)
	d.history.ring.Add(history.Entry{At: now, Kind: history.KindYield, Detail: what})
	y.At = now
	d.applyLocked(y, nil)
	d.rearmLocked()
}

// tiesLocked tells, once each, of a standby of this host's priority.
func (d *Daemon) tiesLocked(self standby.Self, now time.Time, life standby.Life) {
	for _, p := range d.sb.table.Ties(self, now, life) {
		if d.sb.ties[p.Name] {
			continue
		}
		d.sb.ties[p.Name] = true
		d.noticeLocked(notice.StandbyTie, fmt.Sprintf("standby %s (from %s on %s) has this host's priority, %d: set FAILOVER_PRIORITY apart on each standby; until then the names order them, %s first",
			p.Name, p.From, p.Link, self.Priority, min(p.Name, self.Name)), nil)
	}
}

// pokeStandbysLocked has this host announced at once when what it says
// of itself changed.
func (d *Daemon) pokeStandbysLocked() {
	if d.Standbys == nil || d.selfLocked() == d.sb.said {
		return
	}
	select {
	case d.sb.poke <- struct{}{}:
	default:
	}
}

// pokeStandbys is pokeStandbysLocked for a caller without d.mu.
func (d *Daemon) pokeStandbys() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pokeStandbysLocked()
}

// standbysStatusLocked lists the other standbys alive.
func (d *Daemon) standbysStatusLocked(now time.Time) []standby.Peer {
	if d.Standbys == nil {
		return nil
	}
	return d.sb.table.Alive(now, d.lifeLocked(now))
}

// lifeLocked is how long another standby counts as alive after its last
// announcement: the timeout, or as many of its own intervals when it
// announces itself less often than the primary's interval as this host
// knows it (it has not heard the primary yet).
func (d *Daemon) lifeLocked(now time.Time) standby.Life {
	st := d.machine.Status(now)
	return standby.Life{Timeout: st.Timeout, Pace: st.PeerInterval}
}

// Standing is this host among the standbys, as the metrics show it.
type Standing struct {
	Priority int
	Standbys int            // the other standbys heard within the timeout
	Yield    failover.Yield // whom this host yields to; To empty and not Arbiter: nobody
}

// Standing is this host's standing as last published; nil before the
// first.
func (d *Daemon) Standing() *Standing { return d.standing.Load() }

// publishStandingLocked publishes this host's standing for the metrics,
// which read it without d.mu.
func (d *Daemon) publishStandingLocked(y failover.Yield, now time.Time) {
	y.At = time.Time{}
	d.standing.Store(&Standing{Priority: d.cfg.Priority, Standbys: len(d.standbysStatusLocked(now)), Yield: y})
}
