package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// action is one step of a scenario, at a simulated time from the start.
type action struct {
	at   time.Duration
	what string
	do   func()
}

// runner plays a scenario on a world.
type runner struct {
	w       *World
	ctx     context.Context
	hbCfg   *config.Config
	b       bounds
	hb      *running
	hbStops int // > 0: heartbeatd is kept stopped
	queue   []action
	ops     chan func() // the operator's commands, in order
	rng     *rand.Rand
	plan    []string // the faults, in words
}

func (r *runner) at(at time.Duration, what string, do func()) {
	r.queue = append(r.queue, action{at, what, do})
	slices.SortStableFunc(r.queue, func(a, b action) int { return int(a.at - b.at) })
}

// play runs every action at its time; actions may add more.
func (r *runner) play() {
	for len(r.queue) > 0 {
		a := r.queue[0]
		r.queue = r.queue[1:]
		if d := a.at - r.w.since(); d > 0 {
			time.Sleep(d)
		}
		if a.what != "" {
			r.w.tl.add("scenario: %s", a.what)
		}
		a.do()
		r.eval()
	}
}

func (r *runner) eval() {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	r.w.check.evalLocked()
}

func (r *runner) locked(f func()) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	f()
	r.w.check.evalLocked()
}

// The daemons, started and stopped as the host and the scenario allow.

func (r *runner) startHB() {
	if r.hb != nil || r.hbStops > 0 || r.w.p.offs > 0 {
		return
	}
	hb, err := r.w.startHeartbeatd(r.ctx, r.hbCfg)
	if err != nil {
		r.locked(func() { r.w.check.fail("heartbeatd did not start: %v", err) })
		return
	}
	r.hb = hb
	r.locked(func() {
		r.w.check.hbRunning = true
		r.w.check.hbStarted = time.Now()
		for _, n := range r.w.nodes {
			n.vouched = false
		}
	})
}

func (r *runner) stopHB(kill bool) {
	if r.hb == nil {
		return
	}
	r.locked(func() {
		r.w.check.hbRunning = false // stopping: no longer a live primary's
		if !kill {
			// Its goodbye: the primary goes, a new question for Test
			// (failoverd takes over once its addresses stop answering).
			r.w.check.pChanged = time.Now()
		}
	})
	r.hb.stop(r.w, kill)
	r.hb = nil
}

func (r *runner) startFO(n *node) {
	if n.fo != nil || n.stops > 0 || n.h.offs > 0 {
		return
	}
	r.locked(func() {
		n.running = true
		n.started = time.Now()
		n.acq, n.rel = false, false
		n.vetoAt = time.Time{}                                           // a new process knows of no veto
		n.held = false                                                   // nor of the operator's hold
		n.forcedHolds = false                                            // nor of a forced acquire
		n.vouched = false                                                // nor of the primary's run
		n.heard, n.taking = map[string]heardAnn{}, map[string]heardAnn{} // nor of the other standbys
		n.said, n.peerInterval, n.holdingSince, n.eligibleSince = standby.Self{}, 0, time.Time{}, time.Time{}
	})
	n.fo = r.w.startFailoverd(r.ctx, n)
}

func (r *runner) stopFO(n *node, kill bool) {
	if n.fo == nil {
		return
	}
	r.locked(func() { n.running, n.holdingSince, n.eligibleSince = false, time.Time{}, time.Time{} }) // stopping: it gives back, takes nothing
	n.fo.stop(r.w, kill)
	n.fo = nil
}

// node picks one of the standbys (with one, no draw).
func (r *runner) node() *node {
	if len(r.w.nodes) == 1 {
		return r.w.nodes[0]
	}
	return pick(r.rng, r.w.nodes...)
}

// host picks the primary or one of the standbys.
func (r *runner) host() *host {
	hs := []*host{r.w.p}
	for _, n := range r.w.nodes {
		hs = append(hs, n.h)
	}
	return pick(r.rng, hs...)
}

// boot is how long a host takes from power on to its daemon.
func (r *runner) boot() time.Duration {
	return time.Duration(r.rng.Int64N(int64(300 * time.Millisecond)))
}

func (r *runner) power(h *host, off bool) {
	n := r.w.check.node(h)
	if off {
		r.locked(func() {
			h.offs++
			for _, p := range h.ports {
				clear(p.held) // addresses added at run time do not survive
			}
			if n != nil {
				n.forcedHolds = false
			}
		})
		if n == nil {
			r.stopHB(true)
		} else {
			r.stopFO(n, true)
		}
		return
	}
	r.locked(func() { h.offs-- })
	now := r.w.since()
	if n == nil {
		r.at(now+r.boot(), "the primary's heartbeatd starts after boot", r.startHB)
	} else {
		r.at(now+r.boot(), n.name+"'s failoverd starts after boot", func() { r.startFO(n) })
	}
}

// fault is one kind of trouble: its start, and its end after d.
type fault struct {
	name   string
	weight int
	start  func(r *runner, d time.Duration) (end func(), what string)
	long   bool // lasts timeouts, not a blip
	// atLeast, if set, is the shortest it lasts.
	atLeast func(b bounds) time.Duration
}

// darken takes the carrier of one of h's links, or both, until the end
// it returns.
func (r *runner) darken(h *host) (end func(), what string) {
	ps, which := r.ports(h)
	set := func(dark bool) {
		r.locked(func() {
			for _, p := range ps {
				r.w.setCarrierLocked(p, dark)
			}
		})
	}
	set(true)
	return func() { set(false) }, "the " + h.name + " loses carrier on " + which
}

// stall stops the readers of n's failoverd (on), or lets them go on:
// what arrives waits until Drain takes it or they read again. (Its
// reader of the other standbys' announcements, which has no Drain, reads
// on.)
func (r *runner) stall(n *node, on bool) {
	r.locked(func() {
		if on {
			n.stalls++
		} else {
			n.stalls--
		}
		stalled := n.stalls > 0
		n.stalled = stalled
		if n.inbox != nil {
			n.inbox.Stall(stalled)
		}
		if n.asker != nil {
			n.asker.stalled = stalled
			n.asker.q.put(neighbor.Answer{})
		}
	})
}

// command is the operator's failoverctl: the request goes to the
// running failoverd (none: it is refused, as failoverctl is when the
// socket is gone), which answers an acquire or release when its job
// ends; a frozen failoverd answers when it thaws. The operator waits for
// each answer before the next command: they reach failoverd in order.
// It returns a channel closed once the command was answered.
func (r *runner) command(n *node, op failover.Op, force bool) <-chan struct{} {
	done := make(chan struct{})
	fo := n.fo
	if fo == nil {
		r.locked(func() { r.w.tl.add("failoverctl %s on %s: failoverd is not running", op, n.name) })
		close(done)
		return done
	}
	r.ops <- func() {
		defer close(done)
		fo.pr.pass(&fo.pr.frozen)
		r.locked(func() {
			if !fo.pr.dead {
				r.w.check.commandLocked(n, op, force)
			}
		})
		resp := fo.handle(fo.ctx, control.Request{Op: op, Force: force})
		r.locked(func() {
			r.w.tl.add("failoverctl %s on %s (force: %v) answered: ok %v %s%s", op, n.name, force, resp.OK, resp.Message, resp.Error)
		})
	}
	return done
}

// operator runs the commands, one at a time, until ctx ends.
func (r *runner) operator(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-r.ops:
			f()
		}
	}
}

// hold shuts a gate of n's running failoverd and returns its process
// (nil: none runs); it hears nothing meanwhile.
func (r *runner) hold(n *node, g func(*proc) *gate) *proc {
	var pr *proc
	r.locked(func() {
		if n.fo != nil {
			pr = n.fo.pr
			g(pr).shutLocked()
			n.frozen++
		}
	})
	return pr
}

// release opens the gate hold shut.
func (r *runner) release(n *node, pr *proc, g func(*proc) *gate) {
	if pr == nil {
		return
	}
	r.locked(func() {
		g(pr).openLocked()
		n.frozen--
		n.thawedAt = time.Now()
	})
}

// flap turns the carrier of ps off and on until d has passed, each
// change 2 to 100 ms after the last; it returns the end, which leaves
// the carrier on.
func (r *runner) flap(ps []*port, d time.Duration) func() {
	end := r.w.since() + d
	dark := false
	var step func()
	step = func() {
		next := r.w.since() + 2*time.Millisecond + time.Duration(r.rng.Float64()*float64(98*time.Millisecond))
		if next >= end {
			return
		}
		r.at(next, "", func() {
			dark = !dark
			r.locked(func() {
				for _, p := range ps {
					r.w.setCarrierLocked(p, dark)
				}
			})
			step()
		})
	}
	step()
	return func() {
		if dark {
			dark = false
			r.locked(func() {
				for _, p := range ps {
					r.w.setCarrierLocked(p, false)
				}
			})
		}
	}
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func (r *runner) links() []*link { return []*link{r.w.links[linkPriv], r.w.links[linkPub]} }

// ports picks one link's port or both of a host.
func (r *runner) ports(h *host) ([]*port, string) {
	switch r.rng.IntN(3) {
	case 0:
		return []*port{h.port(linkPriv)}, linkPriv
	case 1:
		return []*port{h.port(linkPub)}, linkPub
	}
	return h.ports, "both links"
}

var faults = []fault{
	{name: "power", weight: 3, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.power(r.w.p, true)
		return func() { r.power(r.w.p, false) }, "the primary's power goes off"
	}},
	{name: "hang", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.locked(func() { r.w.p.hangs++ })
		return func() { r.locked(func() { r.w.p.hangs-- }) }, "the primary hangs"
	}},
	{name: "primary carrier", weight: 3, start: func(r *runner, d time.Duration) (func(), string) {
		return r.darken(r.w.p)
	}},
	{name: "standby carrier", weight: 3, start: func(r *runner, d time.Duration) (func(), string) {
		return r.darken(r.node().h)
	}},
	{name: "cut", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		r.locked(func() { l.cuts++ })
		return func() { r.locked(func() { l.cuts-- }) }, "link " + l.name + " is cut (carrier kept)"
	}},
	{name: "heartbeatd", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		kill := r.rng.IntN(2) == 0
		r.hbStops++
		r.stopHB(kill)
		return func() {
			r.hbStops--
			r.startHB()
		}, fmt.Sprintf("heartbeatd stops (killed: %v)", kill)
	}},
	{name: "failoverd", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		n := r.node()
		kill := r.rng.IntN(2) == 0
		n.stops++
		r.stopFO(n, kill)
		return func() {
			n.stops--
			r.startFO(n)
		}, fmt.Sprintf("%s's failoverd stops (killed: %v)", n.name, kill)
	}},
	{name: "standby power", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		n := r.node()
		r.power(n.h, true)
		return func() { r.power(n.h, false) }, n.name + "'s power goes off"
	}},
	{name: "standby hang", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// Nothing in or out, carrier kept; failoverd runs on, hearing
		// nothing, and may take the address where no ARP reaches.
		n := r.node()
		r.locked(func() { n.h.hangs++ })
		return func() { r.locked(func() { n.h.hangs-- }) }, n.name + " hangs"
	}},
	{name: "standby and primary", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The primary's power goes off at the moment a standby loses
		// carrier on a link or both, or its power, or its failoverd:
		// the next standby takes the address, a standby timeout later
		// if the one lost ranked above it.
		n := r.node()
		var end func()
		var what string
		switch r.rng.IntN(3) {
		case 0:
			end, what = r.darken(n.h)
		case 1:
			r.power(n.h, true)
			end, what = func() { r.power(n.h, false) }, n.name+"'s power goes off"
		default:
			kill := r.rng.IntN(2) == 0
			n.stops++
			r.stopFO(n, kill)
			end, what = func() {
				n.stops--
				r.startFO(n)
			}, fmt.Sprintf("%s's failoverd stops (killed: %v)", n.name, kill)
		}
		r.power(r.w.p, true)
		return func() {
			end()
			r.power(r.w.p, false)
		}, what + ", and the primary's power goes off at once"
	}},
	{name: "standby isolated", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// A standby's port on one link, or both, is cut off from it,
		// carrier kept: a partition between it and the others.
		n := r.node()
		ps, which := r.ports(n.h)
		set := func(on int) {
			r.locked(func() {
				for _, p := range ps {
					p.cut += on
				}
			})
		}
		set(1)
		return func() { set(-1) }, n.name + " is cut off on " + which + " (carrier kept)"
	}},
	{name: "stall", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		n := r.node()
		r.stall(n, true)
		return func() { r.stall(n, false) }, n.name + "'s failoverd's readers stall"
	}},
	{name: "freeze", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		// SIGSTOP, or a machine so busy that failoverd gets no CPU:
		// nothing of it runs, then everything at once.
		n := r.node()
		r.stall(n, true)
		pr := r.hold(n, func(pr *proc) *gate { return &pr.frozen })
		return func() {
			r.release(n, pr, func(pr *proc) *gate { return &pr.frozen })
			r.stall(n, false)
		}, n.name + "'s failoverd is frozen (stopped, or short of CPU)"
	}},
	{name: "starved asker", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		// The goroutine that asks is late to take the answers and count
		// its questions; the others run. With the readers stalled too
		// (a coin), the answers wait unread for whoever takes them.
		n := r.node()
		stall := r.rng.IntN(2) == 0
		if stall {
			r.stall(n, true)
		}
		pr := r.hold(n, func(pr *proc) *gate { return &pr.starved })
		return func() {
			r.release(n, pr, func(pr *proc) *gate { return &pr.starved })
			if stall {
				r.stall(n, false)
			}
		}, fmt.Sprintf("%s's failoverd's asking goroutine is starved after it asks (readers stalled: %v)", n.name, stall)
	}},
	{name: "flap", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// A bad cable or a switch port going down and up: the carrier
		// of a link flaps, every few to a hundred milliseconds.
		h := r.host()
		ps, which := r.ports(h)
		stop := r.flap(ps, d)
		return stop, fmt.Sprintf("the %s's carrier flaps on %s", h.name, which)
	}},
	{name: "veto", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		n := r.node()
		r.locked(func() { n.vetoes++ })
		return func() {
			r.locked(func() {
				n.vetoes--
				n.vetoEnded = time.Now()
				n.blockedUntil = later(n.blockedUntil, time.Now().Add(r.b.VetoRetry+r.b.Timeout))
			})
		}, n.name + "'s Test hook fails"
	}},
	{name: "operator", weight: 3, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// failoverctl (failoverctl(8)) on one standby: an acquire
		// (forced or not) or a release, on a pair as it is or on a
		// dead primary's, a hold that lasts d (with an acquire or
		// release halfway, or the primary's maintenance, every
		// standby held), then a resume.
		n := r.node()
		force := r.rng.IntN(2) == 0
		op := pick(r.rng, failover.OpAcquire, failover.OpRelease)
		force = force && op == failover.OpAcquire
		halfway := func() { r.command(n, op, force) }
		resume := func() { r.command(n, failover.OpResume, false) }
		switch r.rng.IntN(5) {
		case 0:
			halfway()
			return func() {}, fmt.Sprintf("the operator runs failoverctl %s (--force: %v) on %s", op, force, n.name)
		case 1:
			// By hand while the primary is dead: before the timeout,
			// or after the takeover.
			r.power(r.w.p, true)
			r.at(r.w.since()+time.Duration(r.rng.Float64()*float64(d)), "", halfway)
			return func() { r.power(r.w.p, false) }, fmt.Sprintf("the primary's power goes off, and the operator runs failoverctl %s (--force: %v) on %s meanwhile", op, force, n.name)
		case 2:
			r.command(n, failover.OpHold, false)
			return resume, "the operator runs failoverctl hold on " + n.name + ", then resume"
		case 3:
			r.command(n, failover.OpHold, false)
			r.at(r.w.since()+d/2, "", halfway)
			return resume, fmt.Sprintf("the operator runs failoverctl hold on %s, %s (--force: %v) halfway, then resume", n.name, op, force)
		}
		// Maintenance on the primary without a failover: hold every
		// standby, and once they answered stop heartbeatd, start it
		// again d/2 later, resume once its heartbeats are back.
		var held []<-chan struct{}
		for _, n := range r.w.nodes {
			held = append(held, r.command(n, failover.OpHold, false))
		}
		r.hbStops++
		var stop func()
		stop = func() {
			for _, h := range held {
				select {
				case <-h:
				default: // a failoverd has not answered yet (frozen): the operator waits
					r.at(r.w.since()+10*time.Millisecond, "", stop)
					return
				}
			}
			r.stopHB(false)
			r.at(r.w.since()+d/2, "", func() {
				r.hbStops--
				r.startHB()
			})
		}
		stop()
		return func() {
			for _, n := range r.w.nodes {
				r.command(n, failover.OpResume, false)
			}
		}, "the operator runs failoverctl hold on every standby, stops and starts heartbeatd, then resumes"
	}},
	{name: "checks", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The primary's service fails its checks: in service-address
		// mode heartbeatd gives its address up and a standby takes it;
		// in host-address mode nothing moves.
		r.locked(func() { r.w.checksFail++; r.w.check.checksLocked(true) })
		return func() { r.locked(func() { r.w.checksFail--; r.w.check.checksLocked(r.w.checksFail > 0) }) }, "the primary's service checks fail"
	}},
	{name: "forge", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		ip := pPriv
		if l.name == linkPub {
			ip = r.w.addr
		}
		toAll := r.rng.IntN(2) == 0
		var to *node
		if !toAll {
			to = r.node()
		}
		r.forge(l, ip, to, d, true)
		return func() {}, fmt.Sprintf("the attacker forges ARP answers for %s on %s (to %s)", ip, l.name, whom(to))
	}},
	{name: "forge elsewhere", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The address taken lives on pub0: an answer for it on priv0
		// says nothing of who holds it, and must stop nothing.
		var to *node
		if r.rng.IntN(2) == 0 {
			to = r.node()
		}
		r.forge(r.w.links[linkPriv], r.w.addr, to, d, false)
		return func() {}, fmt.Sprintf("the attacker forges ARP answers for %s on %s (to %s)", r.w.addr, linkPriv, whom(to))
	}},
	{name: "listener", weight: 1, start: func(r *runner, d time.Duration) (func(), string) {
		n := r.node()
		set := func(on bool) {
			r.locked(func() {
				if n.asker != nil {
					n.asker.failing = on
					n.asker.q.put(neighbor.Answer{})
				}
			})
		}
		set(true)
		return func() { set(false) }, n.name + "'s failoverd's ARP listener fails (answers are lost until it listens again)"
	}},
	{name: "other pair", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.otherPair(d)
		return func() {}, "another pair's primary, also named primary, sends heartbeats on " + linkPub
	}},
	{name: "other standby", weight: 1, long: true, atLeast: func(b bounds) time.Duration { return 3*b.Timeout + b.Reaction + time.Second }, start: func(r *runner, d time.Duration) (func(), string) {
		// Another pair's standby on the public LAN; meanwhile, or not,
		// this pair's primary dies: a standby of this pair takes its
		// address all the same.
		what := r.otherStandby(d)
		if r.rng.IntN(2) == 0 {
			return func() {}, what
		}
		r.power(r.w.p, true)
		return func() { r.power(r.w.p, false) }, what + ", and the primary's power goes off meanwhile"
	}},
	{name: "junk", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		n := r.node()
		port := pick(r.rng, hbPort, sbPort)
		r.junk(l, n, port)
		return func() {}, fmt.Sprintf("the attacker sends junk to %s's port %d on %s", n.name, port, l.name)
	}},
	{name: "replay", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		n := r.node()
		// What it recorded on the heartbeat port, or the standbys'
		// announcements: to their port, or to the heartbeat port from
		// the primary's address (signed, and no heartbeat).
		ports := pick(r.rng, [2]uint16{hbPort, hbPort}, [2]uint16{sbPort, sbPort}, [2]uint16{sbPort, hbPort})
		r.replay(l, n, ports[0], ports[1])
		return func() {}, fmt.Sprintf("the attacker replays what it recorded on %s for port %d to %s's port %d", l.name, ports[0], n.name, ports[1])
	}},
	{name: "loss", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		h := r.host()
		var old float64
		loss := maxLoss * r.rng.Float64()
		r.locked(func() { old, l.conds[h.name].loss = l.conds[h.name].loss, loss })
		return func() { r.locked(func() { l.conds[h.name].loss = old }) }, fmt.Sprintf("loss of %s's frames on %s is %.1f%%", h.name, l.name, 100*loss)
	}},
}

// whom names the standby n, or all (nil).
func whom(n *node) string {
	if n == nil {
		return "all"
	}
	return n.name
}

// maxLoss is the random loss per direction the simulation applies: the
// documented arithmetic (failoverd(8)) makes a false takeover below one
// in 10^8 intervals at 10%.
const maxLoss = 0.10

// forge has the attacker answer for ip on l for d, every 30ms: to one
// standby (to), or to every host (to nil: a gratuitous ARP). Blocking:
// no standby may take over meanwhile (forged answers for any of the
// primary's addresses where they live stop a takeover: conflict,
// notice, Test, as documented); otherwise one must.
func (r *runner) forge(l *link, ip netip.Addr, to *node, d time.Duration, blocking bool) {
	a := r.w.a.port(l.name)
	var dst *port
	if to != nil {
		dst = to.h.port(l.name)
	}
	if blocking {
		r.locked(func() { r.w.check.forging++ })
	}
	end := r.w.since() + d
	var tick func()
	tick = func() {
		r.locked(func() { r.w.arpTellLocked(a, ip, dst) })
		if next := r.w.since() + 30*time.Millisecond; next < end {
			r.at(next, "", tick)
		} else if blocking {
			r.locked(func() {
				c := r.w.check
				c.forging--
				c.blockedUntil = later(c.blockedUntil, time.Now().Add(r.b.HoldDown+r.b.Timeout+r.b.Reaction))
				c.forgedUntil = later(c.forgedUntil, time.Now().Add(r.b.HoldDown+r.b.Timeout+r.b.Reaction))
			})
		}
	}
	tick()
}

// otherPair has a host on the public LAN send heartbeats for d, every
// 100ms, as another pair's primary would: from its own address there,
// with the same node name, an epoch of its own and no key. failoverd
// must not take them for its primary's (a heartbeat from the public
// subnet counts only with the sender and epoch its primary was heard
// with on the private link).
func (r *runner) otherPair(d time.Duration) {
	pr := newProc(r.w.a)
	epoch := r.rng.Uint64()
	dst := netip.AddrPortFrom(netif.BroadcastOf(pubNet), hbPort)
	end := r.w.since() + d
	var seq uint64
	var tick func()
	tick = func() {
		seq++
		p := wire.Packet{Type: wire.Heartbeat, Sender: "primary", Epoch: epoch, Seq: seq, Interval: 100 * time.Millisecond,
			SentAt: time.Now(), Message: "heartbeat"}
		if b, err := wire.NewKeyring().Seal(&p); err == nil {
			r.w.sendUDP(pr, b, dst, r.w.a.port(linkPub).index, aPub)
		}
		if next := r.w.since() + 100*time.Millisecond; next < end {
			r.at(next, "", tick)
		}
	}
	tick()
}

// otherStandby has a host on the public LAN announce itself on the
// standby port for d, every 100ms, as another pair's standby would that
// holds that pair's addresses: from its own address, with no key (or
// with another key).
func (r *runner) otherStandby(d time.Duration) string {
	pr := newProc(r.w.a)
	name := pick(r.rng, "secondary", "backup")
	self := standby.Self{Name: name, Priority: 1 + r.rng.IntN(255), Holding: true, Eligible: true}
	epoch := r.rng.Uint64()
	dst := netip.AddrPortFrom(netif.BroadcastOf(pubNet), sbPort)
	end := r.w.since() + d
	var seq uint64
	var tick func()
	tick = func() {
		seq++
		p := wire.Packet{Type: wire.Standby, Sender: name, Epoch: epoch, Seq: seq, Interval: 100 * time.Millisecond,
			SentAt: time.Now(), Message: self.Message()}
		if b, err := wire.NewKeyring().Seal(&p); err == nil {
			r.w.sendUDP(pr, b, dst, r.w.a.port(linkPub).index, aPub)
		}
		if next := r.w.since() + 100*time.Millisecond; next < end {
			r.at(next, "", tick)
		}
	}
	tick()
	return fmt.Sprintf("another pair's standby, named %s, unsigned, announces on %s that it holds its addresses (priority %d)", name, linkPub, self.Priority)
}

// junk sends 100 datagrams of random bytes to n's port on l, from the
// primary's address there, over 100ms.
func (r *runner) junk(l *link, n *node, port uint16) {
	pr := newProc(r.w.a)
	dst := netip.AddrPortFrom(n.h.port(l.name).addr.Addr(), port)
	src := r.w.p.port(l.name).addr.Addr()
	for i := range 5 {
		r.at(r.w.since()+time.Duration(i)*20*time.Millisecond, "", func() {
			for range 20 {
				b := make([]byte, 1+r.rng.IntN(200))
				for j := range b {
					b[j] = byte(r.rng.Uint32())
				}
				r.w.sendUDP(pr, b, dst, r.w.a.port(l.name).index, src)
			}
		})
	}
}

// replay sends what the attacker recorded on l for port rec to n's port
// dst, at once: to the heartbeat port from the primary's address, to the
// standby port from its own.
func (r *runner) replay(l *link, n *node, rec, dst uint16) {
	pr := newProc(r.w.a)
	r.w.mu.Lock()
	recs := slices.Clone(l.record[rec])
	r.w.mu.Unlock()
	to := netip.AddrPortFrom(n.h.port(l.name).addr.Addr(), dst)
	var src netip.Addr
	if dst == hbPort {
		src = r.w.p.port(l.name).addr.Addr()
	}
	for _, b := range recs {
		r.w.sendUDP(pr, b, to, r.w.a.port(l.name).index, src)
	}
}

// planFaults draws the faults of a run and queues them, and the end of
// each; it returns when the last ends.
func (r *runner) planFaults(warmup time.Duration) time.Duration {
	total := 0
	fs := faults
	if r.w.arb != nil {
		fs = append(slices.Clip(faults), arbiterFaults...)
	}
	for _, f := range fs {
		total += f.weight
	}
	t, last := warmup, warmup
	n := 2 + r.rng.IntN(5)
	for range n {
		x := r.rng.IntN(total)
		var f fault
		for _, f = range fs {
			if x < f.weight {
				break
			}
			x -= f.weight
		}
		start := t + time.Duration(r.rng.Float64()*float64(3*r.b.Timeout)) + 100*time.Millisecond
		var d time.Duration
		if f.long || r.rng.IntN(3) == 0 {
			d = r.b.Timeout/2 + time.Duration(r.rng.Float64()*float64(4*r.b.Timeout+r.b.HoldDown))
		} else {
			d = 10*time.Millisecond + time.Duration(r.rng.Float64()*float64(r.b.Interval*3/2))
		}
		if f.atLeast != nil {
			d = max(d, f.atLeast(r.b))
		}
		f2 := f
		r.at(start, "", func() {
			end, what := f2.start(r, d)
			r.w.tl.add("scenario: %s for %v", what, d.Round(time.Millisecond))
			r.at(r.w.since()+d, "end of: "+what, end)
		})
		r.plan = append(r.plan, fmt.Sprintf("%v +%v %s", start.Round(time.Millisecond), d.Round(time.Millisecond), f.name))
		last = max(last, start+d)
		if f.name == "veto" {
			// A refused give-back is asked again VetoRetry later.
			last = max(last, start+d+r.b.VetoRetry)
		}
		if r.rng.IntN(4) != 0 {
			t = start + d
		}
	}
	return last
}
