package failoverd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
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
	yield standby.Yield   // as last told to the machine
	ties  map[string]bool // the standbys of this host's priority told of
	poke  chan struct{}   // announce now: this host's standing changed
	said  standby.Self    // as last announced
}

// selfLocked is this host as the others are told of it. It is not
// eligible while a link the addresses are on has no carrier, nor while
// nothing listens for the answers to its questions: its questions then
// prove nothing free, so it would not take them, and a standby below it
// may.
func (d *Daemon) selfLocked() standby.Self {
	st := d.machine.Status(d.Clock.Now())
	deaf := d.Asker != nil && !d.hearing.Load()
	return standby.Self{Name: d.cfg.Node, Priority: d.cfg.Priority, Holding: st.Holding,
		Eligible: !d.stopping && st.State != failover.Held && st.State != failover.Vetoed && !st.Lit.Dark && !deaf}
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
// changed, and tells of a standby of this host's priority.
func (d *Daemon) updateYieldLocked() {
	if d.Standbys == nil {
		return
	}
	now := d.Clock.Now()
	life := d.lifeLocked(now)
	self := d.selfLocked()
	for _, p := range d.sb.table.Ties(self, now, life) {
		if d.sb.ties[p.Name] {
			continue
		}
		d.sb.ties[p.Name] = true
		d.noticeLocked(notice.StandbyTie, fmt.Sprintf("standby %s (from %s on %s) has this host's priority, %d: set FAILOVER_PRIORITY apart on each standby; until then the names order them, %s first",
			p.Name, p.From, p.Link, self.Priority, min(p.Name, self.Name)), nil)
	}
	y := d.sb.table.Yield(self, now, life)
	if y == d.sb.yield {
		return
	}
	d.sb.yield = y
	switch {
	case y.Lower != "":
		d.log.Info("another standby holds the addresses too; it ranks below this host and gives them back", "standby", y.Lower)
	case y.To == "":
		d.log.Info("no other standby holds the addresses or ranks above this host")
	default:
		d.log.Info("yielding to another standby", "standby", y.To, "priority", y.Priority, "holds", y.Holds)
	}
	d.applyLocked(failover.Yield{At: now, To: y.To, Priority: y.Priority, Holds: y.Holds, Above: y.Above, Lower: y.Lower}, nil)
	d.rearmLocked()
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

// tieNames names the standbys of this host's priority, for -n.
func tieNames(ps []standby.Peer, prio int) string {
	var names []string
	for _, p := range ps {
		if p.Priority == prio {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
