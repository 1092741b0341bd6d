package failoverd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Arbiter is the quorum through etcd (arbiter.Client): no address is
// added unless this host holds its key, written under its own lease.
type Arbiter = arbiter.Quorum

// arbiterState is what the daemon keeps of the arbiter; d.mu.
type arbiterState struct {
	// KeepWhenDown: FAILOVER_ARBITER_LOST=keep: a holder keeps its
	// addresses while every member refuses the connection.
	keepWhenDown bool
	cut          bool      // the links-cut notice was sent for this silence
	lost         time.Time // when the addresses were last removed at the lease's deadline
	// keeping: past the deadline, the addresses kept while etcd is down
	// (said once); watchArbiter's own, not under d.mu.
	keeping bool
	// keys is held from a takeover's claims to its adds, and while the
	// keys are reconciled (reconcileKeys), so that neither undoes the
	// other.
	keys sync.Mutex
	// added wakes the watch once a takeover added addresses: a claim
	// granted just before the deadline may be followed by an add just
	// after it, and the watch, woken at the deadline, found nothing held.
	added chan struct{}
}

// wakeWatch wakes the watch after a takeover added addresses.
func (d *Daemon) wakeWatch() {
	select {
	case d.arb.added <- struct{}{}:
	default:
	}
}

// arbiterYieldLocked is what the arbiter asks of this host now: while
// its majority cannot be reached, to add nothing; while it names
// another host as the holder of an address's key, to take nothing (and,
// holding them, to give them back). ok is false when it asks nothing.
func (d *Daemon) arbiterYieldLocked(holding bool) (y failover.Yield, ok bool) {
	if d.Arbiter == nil {
		return y, false
	}
	st := d.Arbiter.Status()
	if !st.Reachable {
		if holding {
			return y, false // the lease's deadline decides (enforceDeadline)
		}
		return failover.Yield{Arbiter: true}, true
	}
	for _, a := range d.cfg.Addresses {
		if h := st.Holders[a.Addr().String()]; h != "" && h != d.cfg.Node {
			return failover.Yield{To: h, Holds: true, Above: holding, Arbiter: true}, true
		}
	}
	return y, false
}

// revokeDelay is how much later than its expiry etcd may delete a
// lease's keys: it looks for expired leases every 500 ms and revokes
// them through its log.
const revokeDelay = time.Second

// linksCutLocked tells, once per silence, that the primary is heard on
// no link while it renews its lease through the arbiter's majority and
// holds the addresses' keys: the heartbeat links are cut, and nothing is
// taken over. Not while failoverd starts (its initial grace, nothing heard
// yet): the arbiter answers before the first heartbeat comes.
func (d *Daemon) linksCutLocked(y failover.Yield, now time.Time) {
	if !y.Arbiter || y.To == "" || d.heardLocked(now) {
		d.arb.cut = false
		return
	}
	status := d.machine.Status(now)
	if status.State == failover.Starting {
		return
	}
	st := d.Arbiter.Status()
	if !strings.HasPrefix(st.Nodes[y.To], "primary") || d.arb.cut {
		return
	}
	// A primary that went away keeps its liveness key until its lease
	// expires on the server: a TTL after its last renewal, sent at most
	// an interval after its last heartbeat heard, and revokeDelay more.
	// Only a key still read after that says the primary renews (the TTL
	// is taken to be this host's, the same on every host).
	last, _ := d.machine.Heard()
	if st.TTL == 0 || st.ReadAt.Before(last.Add(status.PeerInterval+st.TTL+revokeDelay)) {
		return
	}
	silence := "since this host started"
	if !last.IsZero() {
		silence = "for " + now.Sub(last).Round(time.Millisecond).String()
	}
	d.arb.cut = true
	d.noticeLocked(notice.Anomaly, fmt.Sprintf("network anomaly: no heartbeat on any link %s, but the primary %s still renews its lease through the arbiter's majority (its liveness key outlived a TTL of silence) and holds the addresses' keys: the heartbeat links are cut; nothing is taken over",
		silence, y.To), nil)
}

// claimAll claims every address's key before the takeover adds any; it
// returns why it may not go ahead, or "", and whether the arbiter did not
// answer (rather than naming another holder). The key of an address this
// host holds already (a takeover an earlier run left unfinished) is
// adopted: under that run's lease, it is taken under this one.
func (d *Daemon) claimAll(ctx context.Context) (why string, unanswered bool) {
	held := d.Mover.Holding()
	for _, a := range d.cfg.Addresses {
		addr := a.Addr().String()
		claim := d.Arbiter.Claim
		if slices.Contains(held, a) {
			claim = d.Arbiter.Adopt
		}
		holder, err := claim(ctx, addr)
		switch {
		case errors.Is(err, arbiter.ErrNoLease), errors.Is(err, arbiter.ErrUnreachable):
			return "the arbiter's majority cannot be reached, so this host may not claim " + addr, true
		case err != nil:
			return "the arbiter did not grant " + addr + ": " + err.Error(), true
		case holder != d.cfg.Node:
			return "the arbiter names " + holder + " as the holder of " + addr, false
		}
	}
	return "", false
}

// releaseAll frees the keys of the addresses given back.
func (d *Daemon) releaseAll(ctx context.Context, as []takeover.Address) {
	for _, a := range as {
		switch err := d.Arbiter.Release(ctx, a.Addr().String()); {
		case errors.Is(err, arbiter.ErrTwin):
			// Another host of this name holds it (the arbiter's
			// client told of it), or a killed run whose lease ends
			// soon: not this run's to free.
			d.log.Debug("left the address's key alone: it holds this host's name under another lease", "addr", a, "err", err)
		case err != nil:
			d.log.Warn("could not free the address's key in the arbiter; it goes with this host's lease", "addr", a, "err", err)
		}
	}
}

// releaseUnheld frees the keys this host may hold for addresses it does
// not hold: a takeover refused part way claimed some (or a claim took
// effect while its answer was lost), and a key kept without its address
// keeps its owner (heartbeatd) from it. Release deletes a key only when
// it names this host.
func (d *Daemon) releaseUnheld(ctx context.Context) {
	held := d.Mover.Holding()
	var free []takeover.Address
	for _, a := range d.cfg.Addresses {
		if !slices.Contains(held, a) {
			free = append(free, a)
		}
	}
	d.releaseAll(ctx, free)
}

// reconcileKeys keeps the arbiter's keys in step with the addresses this
// host holds, while no job runs: it frees the key of an address it does
// not hold (a give-back whose release was lost in a blip, a claim whose
// answer was lost), which would keep the primary from it for as long as
// this host lives; and claims the free key of an address it holds (left
// by a killed run, or its lease replaced), so that no other host may
// claim it while this one answers. The key of an address it holds that
// is still under a lease of this name that may be its earlier run's
// (killed, and started again: Status.Earlier) it adopts, at the first
// round through the majority: that lease expires at a moment no deadline
// of this run tracks, and cut from the majority meanwhile, this host
// would hold the address with no key until its own deadline, while
// another claimed it. A key another host holds is enforceDeadline's to
// act on.
func (d *Daemon) reconcileKeys(ctx context.Context) {
	if !d.arb.keys.TryLock() {
		return // a takeover claims and adds: the watch must not wait for it
	}
	defer d.arb.keys.Unlock()
	d.mu.Lock()
	busy := d.running > 0 || d.stopping
	d.mu.Unlock()
	st := d.Arbiter.Status()
	if busy || !st.Reachable || st.Lease == 0 {
		return
	}
	held := d.Mover.Holding()
	for _, a := range d.cfg.Addresses {
		addr := a.Addr().String()
		switch h := st.Holders[addr]; {
		case slices.Contains(held, a) && (h == "" || slices.Contains(st.Earlier, addr)):
			if holder, err := d.Arbiter.Adopt(ctx, addr); err != nil {
				d.log.Debug("cannot claim the key of an address this host holds", "addr", addr, "err", err)
			} else if holder == st.Node && h != "" {
				d.log.Info("took over the key of an address this host holds from the lease of its earlier run", "addr", addr)
			} else if holder == st.Node {
				d.log.Info("claimed the key of an address this host holds", "addr", addr)
			}
		case !slices.Contains(held, a) && h == st.Node:
			if err := d.Arbiter.Release(ctx, addr); err != nil {
				d.log.Debug("cannot free the key of an address this host does not hold", "addr", addr, "err", err)
			} else {
				d.log.Info("freed the key of an address this host does not hold", "addr", addr)
			}
		}
	}
}

// watchArbiter re-decides whenever the arbiter's view changes, and
// removes the addresses this host holds at its lease's deadline when the
// majority cannot be reached, until ctx ends.
func (d *Daemon) watchArbiter(ctx context.Context) {
	var keepUntil time.Time
	for {
		// At the deadline; once it passed (enforced then), every second
		// or at the next change, and while the addresses are kept with
		// etcd down, when keeping them ends.
		wait := time.Second
		if dl := d.Arbiter.Deadline(); time.Until(dl) > 0 {
			wait = time.Until(dl)
		}
		if !keepUntil.IsZero() {
			wait = min(wait, max(time.Until(keepUntil), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-d.Arbiter.Changes():
		case <-d.arb.added:
		case <-time.After(wait):
		}
		keepUntil = d.enforceDeadline(ctx)
		d.reconcileKeys(ctx)
		d.mu.Lock()
		d.updateYieldLocked()
		d.pokeStandbysLocked() // the majority reached or lost: eligible or not
		d.mu.Unlock()
	}
}

// leaseLost is whom a holder yields to once it removed its addresses at
// its lease's deadline.
const leaseLost = "(this host's lease lost)"

// enforceDeadline removes the addresses this host holds once its lease's
// deadline passed unrenewed: from then on the server may expire the
// lease, and another host claim them. With FAILOVER_ARBITER_LOST=keep
// they stay while etcd is down for everyone (every member refused the
// connection in a recent round: nobody can claim them) and until its
// DownDeadline, which lasts through etcd's return and election, until
// this host renews its lease; a member that does not answer may be
// serving others. It removes them at once, too, when the arbiter names
// another host as the holder of one's key. It returns until when it
// keeps them that way, or zero.
func (d *Daemon) enforceDeadline(ctx context.Context) (keepUntil time.Time) {
	held := d.Mover.Holding()
	if len(held) == 0 {
		d.arb.keeping = false
		return time.Time{}
	}
	st := d.Arbiter.Status()
	if st.Reachable {
		// Another host holds the key of an address this host holds:
		// this host's lease went while it could not act on its
		// deadline (a frozen VM, its clock stopped with it), and that
		// host may have added the address since. Both answer until
		// the addresses go: at once, before the give-back's hooks.
		for _, a := range held {
			if h := st.Holders[a.Addr().String()]; h != "" && h != st.Node {
				d.letGoNow(ctx, held, failover.Yield{Arbiter: true, Holds: true, Above: true, To: h},
					fmt.Sprintf("the arbiter names %s as the holder of %s, which this host held: its lease went while it could not act (a frozen host?), and the key with it; removed the addresses at once", h, a.Addr()))
				return time.Time{}
			}
		}
	}
	if dl := d.Arbiter.Deadline(); !dl.IsZero() && time.Now().Before(dl) {
		d.arb.keeping = false
		return time.Time{}
	}
	if st.Reachable {
		d.arb.keeping = false
		return time.Time{} // renewed since
	}
	if until := d.Arbiter.DownDeadline(); d.arb.keepWhenDown && time.Now().Before(until) {
		if !d.arb.keeping {
			d.arb.keeping = true
			d.log.Warn("every arbiter member refuses the connection: keeping the addresses (FAILOVER_ARBITER_LOST=keep)",
				"refusing", st.Refusing, "members", st.Members)
		}
		return until
	}
	d.letGoNow(ctx, held, failover.Yield{Arbiter: true, Holds: true, Above: true, To: leaseLost},
		fmt.Sprintf("lost the arbiter's majority (%s): removed the addresses at the lease's deadline, before another host could claim them", st.Err))
	return time.Time{}
}

// letGoNow removes the addresses held at once, with an arbiter-lost
// notice that says detail, and tells the machine y: it gives them back
// (its hooks run; the addresses are gone already).
func (d *Daemon) letGoNow(ctx context.Context, held []takeover.Address, y failover.Yield, detail string) {
	d.arb.keeping = false
	var errs []error
	for _, a := range held {
		if err := d.Mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.arb.lost = time.Now()
	d.told = y
	if err := errors.Join(errs...); err != nil {
		detail += ", with errors: " + err.Error()
	}
	d.noticeLocked(notice.ArbiterLost, detail, nil)
	y.At = d.Clock.Now()
	d.publishStandingLocked(y, y.At)
	d.applyLocked(y, nil)
	d.rearmLocked()
}
