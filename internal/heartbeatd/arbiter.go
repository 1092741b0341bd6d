package heartbeatd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
)

// Arbiter is the quorum through etcd (arbiter.Client, FAILOVER_ARBITER):
// heartbeatd keeps a lease with the liveness key of a primary, and holds
// the keys of the addresses a standby would take from it.
type Arbiter = arbiter.Quorum

// LeasedService is what the arbiter needs of the service addresses
// (heartbeat.Service): their keys claimed before each add, and the
// addresses removed when this host's lease is lost.
type LeasedService interface {
	SetKeys(heartbeat.Keys)
	Held() []netip.Addr
	LetGo(ctx context.Context, why string, ips ...netip.Addr) error
	FreeKeys(ctx context.Context, mine func(netip.Addr) bool)
}

var _ LeasedService = (*heartbeat.Service)(nil)

// arbiterState is what the daemon keeps of the arbiter.
type arbiterState struct {
	keeping chan struct{} // closed once keepKeys has returned; nil: not started

	mu   sync.Mutex
	said map[string]string // address -> its key's last logged outcome
	kept bool              // the keep warning was logged for this outage
}

// keepRetry is how often, at most, heartbeatd looks again at its keys
// between the arbiter's changes: a lease found lost is replaced within a
// round, and the change that says so may come before the new lease.
func keepRetry(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = arbiter.DefaultTTL
	}
	return ttl / 6
}

// leased is the service addresses when there are some.
func (d *Daemon) leased() LeasedService {
	if d.Service == nil {
		return nil
	}
	return d.Service.(LeasedService) // New checked
}

// runArbiter runs the arbiter's client beside run, and keeps the keys
// until ctx ends; the lease is revoked only once run has returned (after
// the goodbye, and the service addresses' removal before it).
func (d *Daemon) runArbiter(ctx context.Context, run func() error) error {
	if d.Arbiter == nil {
		return run()
	}
	// The lease outlives ctx: the addresses go first.
	arbCtx, stopArbiter := context.WithCancel(context.WithoutCancel(ctx))
	arbDone := make(chan struct{})
	go func() {
		defer close(arbDone)
		if err := d.Arbiter.Run(arbCtx); err != nil {
			d.Log.Error("the arbiter's client stopped", "err", err)
		}
	}()
	keepCtx, stopKeeping := context.WithCancel(ctx)
	d.arb.keeping = make(chan struct{})
	go func() {
		defer close(d.arb.keeping)
		d.keepKeys(keepCtx)
	}()
	err := run()
	stopKeeping()
	<-d.arb.keeping
	stopArbiter()
	<-arbDone
	return err
}

// keepKeys keeps the keys this host must hold until ctx ends: the
// addresses of its heartbeat links without service addresses, and with
// them, the service addresses' keys it holds, which it removes at its
// lease's deadline.
func (d *Daemon) keepKeys(ctx context.Context) {
	retry := keepRetry(d.cfg.Load().ArbiterTTL)
	for {
		var keepUntil time.Time
		if svc := d.leased(); svc != nil {
			keepUntil = d.enforceDeadline(ctx, svc)
			d.keepServiceKeys(ctx, svc)
		} else {
			d.keepHostKeys(ctx)
		}
		// Woken at the deadline, when keeping the addresses with etcd
		// down ends, by the changes or the retry: not in a loop for as
		// long as etcd is out of reach.
		wait := retry
		for _, at := range []time.Time{d.Arbiter.Deadline(), keepUntil} {
			if until := time.Until(at); until > 0 {
				wait = min(wait, until)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.Arbiter.Changes():
		case <-time.After(wait):
		}
	}
}

// LinkAddrs are the addresses of this host's heartbeat links, as the
// sender last looked (link-local ones aside): a standby takes them (the
// primary's public address), so heartbeatd holds their keys.
func LinkAddrs(targets []heartbeat.Target) []netip.Addr {
	var out []netip.Addr
	var seen []string
	for _, t := range targets {
		it := t.Route.Interface
		if slices.Contains(seen, it.Name) || it.Name == "" {
			continue
		}
		seen = append(seen, it.Name)
		for _, a := range it.Addrs {
			if ip := a.Prefix.Addr(); ip.IsGlobalUnicast() && !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
	}
	return out
}

// keepHostKeys claims the keys of the links' addresses this host does
// not hold (at start, and again after its lease was found lost: the
// claims under it went with it), adopts those still under a lease of
// this name that may be its earlier run's (killed, and started again:
// Status.Earlier), and frees those of addresses gone from the links.
func (d *Daemon) keepHostKeys(ctx context.Context) {
	st := d.Arbiter.Status()
	if !st.Reachable || st.Lease == 0 {
		return // nothing can be claimed; the next change or retry tries again
	}
	want := LinkAddrs(d.Sender.Targets())
	for _, ip := range want {
		addr := ip.String()
		if st.Holders[addr] == st.Node && !slices.Contains(st.Earlier, addr) {
			continue
		}
		holder, err := d.Arbiter.Adopt(ctx, addr)
		d.noteKey(addr, holder, err, false)
	}
	for addr, h := range st.Holders {
		ip, err := netip.ParseAddr(addr)
		if h != st.Node || err != nil || slices.Contains(want, ip) {
			continue
		}
		if err := d.Arbiter.Release(ctx, addr); err == nil {
			d.Log.Info("freed the key of an address no longer on a heartbeat link", "addr", addr)
		}
	}
}

// keepServiceKeys claims again the key of each service address this host
// holds and the arbiter does not name it for (its lease was replaced),
// removes an address whose key another host holds, and frees the key of
// an address it does not hold. The key of a service address it holds
// that is still under a lease of this name that may be its earlier
// run's (killed, and started again; the address left on the interface:
// Status.Earlier) it adopts at the first round through the majority, so
// that the key lives as long as this run's lease: that lease expires at
// a moment no deadline of this run tracks, and cut from the majority
// meanwhile, this host would hold the address with no key until its own
// deadline, while another claimed it.
func (d *Daemon) keepServiceKeys(ctx context.Context, svc LeasedService) {
	st := d.Arbiter.Status()
	if !st.Reachable || st.Lease == 0 {
		return // the lease's deadline decides (enforceDeadline)
	}
	for _, ip := range svc.Held() {
		addr := ip.String()
		if st.Holders[addr] == st.Node && !slices.Contains(st.Earlier, addr) {
			continue
		}
		holder, err := d.Arbiter.Adopt(ctx, addr)
		d.noteKey(addr, holder, err, true)
		if err != nil || holder == st.Node {
			continue
		}
		if err := svc.LetGo(ctx, "the arbiter names "+holder+" as the holder of its key", ip); err != nil {
			d.Log.Error("cannot remove the service address", "addr", addr, "err", err)
		}
	}
	// The keys of addresses not held, whose release was lost.
	svc.FreeKeys(ctx, func(ip netip.Addr) bool { return st.Holders[ip.String()] == st.Node })
}

// enforceDeadline removes the service addresses once this host's lease
// passed its deadline unrenewed: from then on the server may expire it,
// and another host claim them. With FAILOVER_ARBITER_LOST=keep they stay
// while every member refuses the connection (etcd is down for everyone,
// so nobody can claim them) and until the DownDeadline, through etcd's
// return; a member that does not answer may be serving others. It
// returns until when it keeps them that way, or zero.
func (d *Daemon) enforceDeadline(ctx context.Context, svc LeasedService) (keepUntil time.Time) {
	held := svc.Held()
	dl := d.Arbiter.Deadline()
	if len(held) == 0 || (!dl.IsZero() && time.Now().Before(dl)) {
		d.setKept(false)
		return time.Time{}
	}
	st := d.Arbiter.Status()
	if st.Reachable {
		return time.Time{} // renewed since
	}
	if st.Lease == 0 && st.Err == "" {
		// The first round has not ended: a service address left by a
		// killed run stays until the arbiter says whose its key is.
		return time.Time{}
	}
	// Kept while etcd is down for everyone and through its return,
	// until the DownDeadline: as failoverd keeps its addresses.
	if until := d.Arbiter.DownDeadline(); d.cfg.Load().ArbiterLost == "keep" && time.Now().Before(until) {
		if d.setKept(true) {
			d.Log.Warn("every arbiter member refuses the connection: keeping the service addresses (FAILOVER_ARBITER_LOST=keep)", "held", held)
		}
		return until
	}
	why := fmt.Sprintf("lost the arbiter's majority (%s): removed at the lease's deadline, before another host could claim it", st.Err)
	if err := svc.LetGo(ctx, why); err != nil {
		d.Log.Error("cannot remove the service addresses at the lease's deadline", "err", err)
	}
	return time.Time{}
}

// setKept records whether the keep warning stands; it says whether it
// changed.
func (d *Daemon) setKept(kept bool) bool {
	d.arb.mu.Lock()
	defer d.arb.mu.Unlock()
	was := d.arb.kept
	d.arb.kept = kept
	return was != kept
}

// noteKey logs what a claim of addr's key found, when it changed.
func (d *Daemon) noteKey(addr, holder string, err error, service bool) {
	node := d.cfg.Load().NodeName
	outcome := "held"
	switch {
	case errors.Is(err, arbiter.ErrNoLease), errors.Is(err, arbiter.ErrUnreachable):
		outcome = "unreachable"
	case err != nil:
		outcome = "error"
	case holder != node:
		outcome = "held by " + holder
	}
	d.arb.mu.Lock()
	if d.arb.said == nil {
		d.arb.said = map[string]string{}
	}
	same := d.arb.said[addr] == outcome
	d.arb.said[addr] = outcome
	d.arb.mu.Unlock()
	what := "this host's address"
	if service {
		what = "a service address"
	}
	switch {
	case same && err == nil:
	case outcome == "held":
		d.Log.Info("holding the key of "+what+" in the arbiter", "addr", addr)
	case err != nil:
		d.Log.Debug("cannot claim the key of "+what+" in the arbiter", "addr", addr, "err", err)
	case service:
		d.Log.Warn("the arbiter names another host as the holder of a service address's key: this host does not hold the address while it does",
			"addr", addr, "holder", holder)
	default:
		d.Log.Warn("the arbiter names another host as the holder of this host's address: a standby took it over while this host could not reach the majority; it is claimed again once that host frees it",
			"addr", addr, "holder", holder)
	}
}

// serviceKeys are the service addresses' keys, through the arbiter
// (heartbeat.Keys).
type serviceKeys struct{ d *Daemon }

func (k serviceKeys) Claim(ctx context.Context, ip netip.Addr) error {
	node := k.d.cfg.Load().NodeName
	holder, err := k.d.Arbiter.Claim(ctx, ip.String())
	k.d.noteKey(ip.String(), holder, err, true)
	switch {
	case errors.Is(err, arbiter.ErrNoLease), errors.Is(err, arbiter.ErrUnreachable):
		return fmt.Errorf("the arbiter's majority cannot be reached, so this host may not claim %s: %w", ip, err)
	case err != nil:
		return err
	case holder != node:
		return fmt.Errorf("the arbiter names %s as the holder of %s", holder, ip)
	}
	return nil
}

func (k serviceKeys) Release(ctx context.Context, ip netip.Addr) {
	switch err := k.d.Arbiter.Release(ctx, ip.String()); {
	case errors.Is(err, arbiter.ErrTwin):
		k.d.Log.Debug(twinKey, "addr", ip, "err", err)
	case err != nil:
		k.d.Log.Warn("could not free a service address's key in the arbiter; it goes with this host's lease", "addr", ip, "err", err)
	}
}

// twinKey says why a key of this host's name was not freed: another host
// of this name holds it (the arbiter's client told of it), or a killed
// run whose lease ends soon; not this run's to free.
const twinKey = "left an address's key alone: it holds this host's name under another lease"

// releaseKeys frees, before the goodbye, the keys this host holds but
// those of service addresses it still holds (their removal failed): a
// standby that takes over on the goodbye claims them at once.
func (d *Daemon) releaseKeys(ctx context.Context) {
	if d.arb.keeping != nil {
		<-d.arb.keeping // nothing is claimed from now on
	}
	var still []netip.Addr
	if svc := d.leased(); svc != nil {
		still = svc.Held()
	}
	st := d.Arbiter.Status()
	for addr, h := range st.Holders {
		ip, err := netip.ParseAddr(addr)
		if h != st.Node || err != nil || slices.Contains(still, ip) {
			continue
		}
		switch err := d.Arbiter.Release(ctx, addr); {
		case errors.Is(err, arbiter.ErrTwin):
			d.Log.Debug(twinKey, "addr", addr, "err", err)
		case err != nil:
			d.Log.Warn("could not free an address's key in the arbiter before the goodbye; it goes with this host's lease", "addr", addr, "err", err)
		}
	}
}
