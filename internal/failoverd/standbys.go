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

// selfLocked is this host as the others are told of it.
func (d *Daemon) selfLocked() standby.Self {
	st := d.machine.Status(d.Clock.Now())
	return standby.Self{Name: d.cfg.Node, Priority: d.cfg.Priority, Holding: st.Holding && len(d.Mover.Holding()) > 0,
		Eligible: !d.stopping && st.State != failover.Held && st.State != failover.Vetoed}
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
	if !d.sb.table.Heard(p, d.machine.Status(d.Clock.Now()).Timeout) {
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
	timeout := d.machine.Status(now).Timeout
	self := d.selfLocked()
	y, ok := d.arbiterYieldLocked(self.Holding)
	if d.Standbys != nil {
		d.tiesLocked(self, now, timeout)
		if !ok {
			sy := d.sb.table.Yield(self, now, timeout)
			y = failover.Yield{To: sy.To, Priority: sy.Priority, Holds: sy.Holds, Above: sy.Above}
		}
	}
	if d.Arbiter != nil {
		d.linksCutLocked(y, now)
	}
	d.publishStandingLocked(y, now, timeout)
	if y == d.told {
		return
	}
	d.told = y
	what := "nothing stands in this host's way: no other standby holds the addresses or ranks above it"
	if d.Arbiter != nil {
		what = "nothing stands in this host's way: the arbiter names no other holder, and no other standby holds the addresses or ranks above it"
	}
	if y.To != "" || y.Arbiter {
		what = failover.Yielding{To: y.To, Priority: y.Priority, Holds: y.Holds, Arbiter: y.Arbiter}.Words()
	}
	d.log.Info(what)
	d.history.ring.Add(history.Entry{At: now, Kind: history.KindYield, Detail: what})
	y.At = now
	d.applyLocked(y, nil)
	d.rearmLocked()
}

// tiesLocked tells, once each, of a standby of this host's priority.
func (d *Daemon) tiesLocked(self standby.Self, now time.Time, timeout time.Duration) {
	for _, p := range d.sb.table.Ties(self, now, timeout) {
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

// standbysStatusLocked lists the other standbys heard within the timeout.
func (d *Daemon) standbysStatusLocked(now time.Time, timeout time.Duration) []standby.Peer {
	if d.Standbys == nil {
		return nil
	}
	return d.sb.table.Alive(now, timeout)
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
func (d *Daemon) publishStandingLocked(y failover.Yield, now time.Time, timeout time.Duration) {
	y.At = time.Time{}
	d.standing.Store(&Standing{Priority: d.cfg.Priority, Standbys: len(d.standbysStatusLocked(now, timeout)), Yield: y})
}
