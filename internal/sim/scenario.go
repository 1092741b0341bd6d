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
	w            *World
	ctx          context.Context
	hbCfg, foCfg *config.Config
	b            bounds
	hb, fo       *running
	hbStops      int // > 0: heartbeatd is kept stopped
	foStops      int // > 0: failoverd is kept stopped
	queue        []action
	ops          chan func() // the operator's commands, in order
	rng          *rand.Rand
	plan         []string // the faults, in words
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
	r.locked(func() { r.w.check.hbRunning, r.w.check.vouched = true, false })
}

func (r *runner) stopHB(kill bool) {
	if r.hb == nil {
		return
	}
	r.locked(func() { r.w.check.hbRunning = false }) // stopping: no longer a live primary's
	r.hb.stop(r.w, kill)
	r.hb = nil
}

func (r *runner) startFO() {
	if r.fo != nil || r.foStops > 0 || r.w.s.offs > 0 {
		return
	}
	r.locked(func() {
		r.w.check.foRunning = true
		r.w.check.foStarted = time.Now()
		r.w.check.acq, r.w.check.rel = false, false
		r.w.check.vetoAt = time.Time{} // a new process knows of no veto
		r.w.check.held = false         // nor of the operator's hold
		r.w.check.forcedHolds = false  // nor of a forced acquire
		r.w.check.vouched = false      // nor of the primary's run
	})
	r.fo = r.w.startFailoverd(r.ctx, r.foCfg)
}

func (r *runner) stopFO(kill bool) {
	if r.fo == nil {
		return
	}
	r.locked(func() { r.w.check.foRunning = false }) // stopping: it gives back, takes nothing
	r.fo.stop(r.w, kill)
	r.fo = nil
}

// boot is how long a host takes from power on to its daemon.
func (r *runner) boot() time.Duration {
	return time.Duration(r.rng.Int64N(int64(300 * time.Millisecond)))
}

func (r *runner) power(h *host, off bool) {
	if off {
		r.locked(func() {
			h.offs++
			for _, p := range h.ports {
				clear(p.held) // addresses added at run time do not survive
			}
			if h == r.w.s {
				r.w.check.forcedHolds = false
			}
		})
		if h == r.w.p {
			r.stopHB(true)
		} else {
			r.stopFO(true)
		}
		return
	}
	r.locked(func() { h.offs-- })
	now := r.w.since()
	if h == r.w.p {
		r.at(now+r.boot(), "the primary's heartbeatd starts after boot", r.startHB)
	} else {
		r.at(now+r.boot(), "the secondary's failoverd starts after boot", r.startFO)
	}
}

// fault is one kind of trouble: its start, and its end after d.
type fault struct {
	name   string
	weight int
	start  func(r *runner, d time.Duration) (end func(), what string)
	long   bool // lasts timeouts, not a blip
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

// stall stops failoverd's readers (on), or lets them go on: what
// arrives waits until Drain takes it or they read again.
func (r *runner) stall(on bool) {
	r.locked(func() {
		if on {
			r.w.stalls++
		} else {
			r.w.stalls--
		}
		stalled := r.w.stalls > 0
		r.w.check.stalled = stalled
		if r.w.inbox != nil {
			r.w.inbox.Stall(stalled)
		}
		if r.w.sAsker != nil {
			r.w.sAsker.stalled = stalled
			r.w.sAsker.q.put(neighbor.Answer{})
		}
	})
}

// command is the operator's failoverctl: the request goes to the
// running failoverd (none: it is refused, as failoverctl is when the
// socket is gone), which answers an acquire or release when its job
// ends; a frozen failoverd answers when it thaws. The operator waits for
// each answer before the next command: they reach failoverd in order.
// It returns a channel closed once the command was answered.
func (r *runner) command(op failover.Op, force bool) <-chan struct{} {
	done := make(chan struct{})
	fo := r.fo
	if fo == nil {
		r.locked(func() { r.w.tl.add("failoverctl %s: failoverd is not running", op) })
		close(done)
		return done
	}
	r.ops <- func() {
		defer close(done)
		fo.pr.pass(&fo.pr.frozen)
		r.locked(func() { r.w.check.commandLocked(op, force) })
		resp := fo.handle(fo.ctx, control.Request{Op: op, Force: force})
		r.locked(func() {
			r.w.tl.add("failoverctl %s (force: %v) answered: ok %v %s%s", op, force, resp.OK, resp.Message, resp.Error)
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

// hold shuts a gate of the running failoverd and returns its process
// (nil: none runs); the secondary hears nothing meanwhile.
func (r *runner) hold(g func(*proc) *gate) *proc {
	var pr *proc
	r.locked(func() {
		if r.fo != nil {
			pr = r.fo.pr
			g(pr).shutLocked()
			r.w.check.frozen++
		}
	})
	return pr
}

// release opens the gate hold shut.
func (r *runner) release(pr *proc, g func(*proc) *gate) {
	if pr == nil {
		return
	}
	r.locked(func() {
		g(pr).openLocked()
		r.w.check.frozen--
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
	{name: "secondary carrier", weight: 3, start: func(r *runner, d time.Duration) (func(), string) {
		return r.darken(r.w.s)
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
		kill := r.rng.IntN(2) == 0
		r.foStops++
		r.stopFO(kill)
		return func() {
			r.foStops--
			r.startFO()
		}, fmt.Sprintf("failoverd stops (killed: %v)", kill)
	}},
	{name: "secondary power", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.power(r.w.s, true)
		return func() { r.power(r.w.s, false) }, "the secondary's power goes off"
	}},
	{name: "stall", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		r.stall(true)
		return func() { r.stall(false) }, "failoverd's readers stall"
	}},
	{name: "freeze", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		// SIGSTOP, or a machine so busy that failoverd gets no CPU:
		// nothing of it runs, then everything at once.
		r.stall(true)
		pr := r.hold(func(pr *proc) *gate { return &pr.frozen })
		return func() {
			r.release(pr, func(pr *proc) *gate { return &pr.frozen })
			r.stall(false)
		}, "failoverd is frozen (stopped, or short of CPU)"
	}},
	{name: "starved asker", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		// The goroutine that asks is late to take the answers and count
		// its questions; the others run. With the readers stalled too
		// (a coin), the answers wait unread for whoever takes them.
		stall := r.rng.IntN(2) == 0
		if stall {
			r.stall(true)
		}
		pr := r.hold(func(pr *proc) *gate { return &pr.starved })
		return func() {
			r.release(pr, func(pr *proc) *gate { return &pr.starved })
			if stall {
				r.stall(false)
			}
		}, fmt.Sprintf("failoverd's asking goroutine is starved after it asks (readers stalled: %v)", stall)
	}},
	{name: "flap", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// A bad cable or a switch port going down and up: the carrier
		// of a link flaps, every few to a hundred milliseconds.
		h := pick(r.rng, r.w.p, r.w.s)
		ps, which := r.ports(h)
		stop := r.flap(ps, d)
		return stop, fmt.Sprintf("the %s's carrier flaps on %s", h.name, which)
	}},
	{name: "veto", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.locked(func() { r.w.vetoes++ })
		return func() {
			r.locked(func() {
				r.w.vetoes--
				r.w.check.vetoEnded = time.Now()
				r.w.check.blockedUntil = later(r.w.check.blockedUntil, time.Now().Add(r.b.VetoRetry+r.b.Timeout))
			})
		}, "failoverd's Test hook fails"
	}},
	{name: "operator", weight: 3, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// failoverctl (failoverctl(8)): an acquire (forced or not) or a
		// release, on a pair as it is or on a dead primary's, a hold
		// that lasts d (with an acquire or release halfway, or the
		// primary's maintenance), then a resume.
		force := r.rng.IntN(2) == 0
		op := pick(r.rng, failover.OpAcquire, failover.OpRelease)
		force = force && op == failover.OpAcquire
		halfway := func() { r.command(op, force) }
		resume := func() { r.command(failover.OpResume, false) }
		switch r.rng.IntN(5) {
		case 0:
			halfway()
			return func() {}, fmt.Sprintf("the operator runs failoverctl %s (--force: %v)", op, force)
		case 1:
			// By hand while the primary is dead: before the timeout,
			// or after the takeover.
			r.power(r.w.p, true)
			r.at(r.w.since()+time.Duration(r.rng.Float64()*float64(d)), "", halfway)
			return func() { r.power(r.w.p, false) }, fmt.Sprintf("the primary's power goes off, and the operator runs failoverctl %s (--force: %v) meanwhile", op, force)
		case 2:
			r.command(failover.OpHold, false)
			return resume, "the operator runs failoverctl hold, then resume"
		case 3:
			r.command(failover.OpHold, false)
			r.at(r.w.since()+d/2, "", halfway)
			return resume, fmt.Sprintf("the operator runs failoverctl hold, %s (--force: %v) halfway, then resume", op, force)
		}
		// Maintenance on the primary without a failover: hold, and once
		// it is answered stop heartbeatd, start it again d/2 later,
		// resume once its heartbeats are back.
		held := r.command(failover.OpHold, false)
		r.hbStops++
		var stop func()
		stop = func() {
			select {
			case <-held:
				r.stopHB(false)
				r.at(r.w.since()+d/2, "", func() {
					r.hbStops--
					r.startHB()
				})
			default: // failoverd has not answered yet (frozen): the operator waits
				r.at(r.w.since()+10*time.Millisecond, "", stop)
			}
		}
		stop()
		return resume, "the operator runs failoverctl hold, stops and starts heartbeatd, then resumes"
	}},
	{name: "checks", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The primary's service fails its checks: in service-address
		// mode heartbeatd gives its address up and failoverd takes it;
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
		r.forge(l, ip, toAll, d, true)
		return func() {}, fmt.Sprintf("the attacker forges ARP answers for %s on %s (to all: %v)", ip, l.name, toAll)
	}},
	{name: "forge elsewhere", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		// The address taken lives on pub0: an answer for it on priv0
		// says nothing of who holds it, and must stop nothing.
		r.forge(r.w.links[linkPriv], r.w.addr, r.rng.IntN(2) == 0, d, false)
		return func() {}, fmt.Sprintf("the attacker forges ARP answers for %s on %s", r.w.addr, linkPriv)
	}},
	{name: "listener", weight: 1, start: func(r *runner, d time.Duration) (func(), string) {
		set := func(on bool) {
			r.locked(func() {
				if r.w.sAsker != nil {
					r.w.sAsker.failing = on
					r.w.sAsker.q.put(neighbor.Answer{})
				}
			})
		}
		set(true)
		return func() { set(false) }, "failoverd's ARP listener fails (answers are lost until it listens again)"
	}},
	{name: "other pair", weight: 1, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		r.otherPair(d)
		return func() {}, "another pair's primary, also named primary, sends heartbeats on " + linkPub
	}},
	{name: "junk", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		r.junk(l)
		return func() {}, "the attacker sends junk on " + l.name
	}},
	{name: "replay", weight: 2, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		r.replay(l)
		return func() {}, "the attacker replays what it recorded on " + l.name
	}},
	{name: "loss", weight: 2, long: true, start: func(r *runner, d time.Duration) (func(), string) {
		l := pick(r.rng, r.links()...)
		h := pick(r.rng, r.w.p, r.w.s)
		var old float64
		loss := maxLoss * r.rng.Float64()
		r.locked(func() { old, l.conds[h.name].loss = l.conds[h.name].loss, loss })
		return func() { r.locked(func() { l.conds[h.name].loss = old }) }, fmt.Sprintf("loss of %s's frames on %s is %.1f%%", h.name, l.name, 100*loss)
	}},
}

// maxLoss is the random loss per direction the simulation applies: the
// documented arithmetic (failoverd(8)) makes a false takeover below one
// in 10^8 intervals at 10%.
const maxLoss = 0.10

// forge has the attacker answer for ip on l for d, every 30ms: to the
// secondary alone, or to every host (a gratuitous ARP). Blocking:
// failoverd must not take over meanwhile (forged answers for any of the
// primary's addresses where they live stop a takeover: conflict, notice,
// Test, as documented); otherwise it must.
func (r *runner) forge(l *link, ip netip.Addr, toAll bool, d time.Duration, blocking bool) {
	a := r.w.a.port(l.name)
	s := r.w.s.port(l.name)
	if blocking {
		r.locked(func() { r.w.check.forging++ })
	}
	end := r.w.since() + d
	var tick func()
	tick = func() {
		r.locked(func() {
			to := s
			if toAll {
				to = nil
			}
			r.w.arpTellLocked(a, ip, to)
		})
		if next := r.w.since() + 30*time.Millisecond; next < end {
			r.at(next, "", tick)
		} else if blocking {
			r.locked(func() {
				r.w.check.forging--
				r.w.check.blockedUntil = later(r.w.check.blockedUntil, time.Now().Add(r.b.HoldDown+r.b.Timeout+r.b.Reaction))
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

// junk sends 100 datagrams of random bytes to the secondary's heartbeat
// port on l, from the primary's address there, over 100ms.
func (r *runner) junk(l *link) {
	pr := newProc(r.w.a)
	dst := netip.AddrPortFrom(r.w.s.port(l.name).addr.Addr(), hbPort)
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

// replay sends what the attacker recorded on l to the secondary, from
// the primary's address, at once.
func (r *runner) replay(l *link) {
	pr := newProc(r.w.a)
	r.w.mu.Lock()
	rec := slices.Clone(l.record)
	r.w.mu.Unlock()
	dst := netip.AddrPortFrom(r.w.s.port(l.name).addr.Addr(), hbPort)
	src := r.w.p.port(l.name).addr.Addr()
	for _, b := range rec {
		r.w.sendUDP(pr, b, dst, r.w.a.port(l.name).index, src)
	}
}

// planFaults draws the faults of a run and queues them, and the end of
// each; it returns when the last ends.
func (r *runner) planFaults(warmup time.Duration) time.Duration {
	total := 0
	for _, f := range faults {
		total += f.weight
	}
	t, last := warmup, warmup
	n := 2 + r.rng.IntN(5)
	for range n {
		x := r.rng.IntN(total)
		var f fault
		for _, f = range faults {
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
