package sim

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
)

// bounds are the documented windows and reactions the checker enforces,
// computed from the configuration (Bounds in sim.go).
type bounds struct {
	Interval, Timeout, HoldDown, InitialGrace, VetoRetry, AskWait time.Duration
	DeadCount                                                     int
	Confirm                                                       bool // FAILOVER_CONFIRM
	Probes                                                        int  // FAILOVER_CONFIRM_PROBES
	// StartWait: how long a failoverd that has heard nothing since its
	// start waits (its initial grace, and at least the dead count of
	// the default interval: it knows no other yet).
	StartWait time.Duration
	// Reaction: what a takeover may take beyond the timeout (probes,
	// questions, Test and PreAcq, the announcement), and a give-back
	// beyond the primary's first heartbeat.
	Reaction time.Duration
	// AskRace: how long before an add the primary may have begun to
	// answer, its answer racing the last question.
	AskRace time.Duration
	// Service: service-address mode; the checks' pace, fall and rise.
	Service    bool
	CheckEvery time.Duration
	Fall, Rise int
}

// checker holds the promises; every method is called with w.mu held.
type checker struct {
	w *World
	b bounds

	breach   string // the first breach
	breachAt time.Duration

	hbRunning, foRunning bool
	// vouched: in service-address mode the primary's public heartbeats
	// come from its host address, which failoverd is not told; they
	// count only with the sender and run heard on the private link
	// (failoverd(8)): since this run of heartbeatd, or of failoverd,
	// began, the private link has delivered one of its datagrams.
	vouched      bool
	foStarted    time.Time
	stalled      bool
	frozen       int       // > 0: failoverd, or its asker, is held
	forging      int       // forged answers for the address under way
	blockedUntil time.Time // the dead-primary promise waits until then (a forgery's or a veto's after-effects)
	vetoEnded    time.Time // Test last stopped failing

	liveSince     time.Time // the primary live (zero: not)
	deadSince     time.Time // the primary dead (zero: not)
	ableSince     time.Time // the secondary able to take over (zero: not)
	pAnswersSince time.Time // the primary's kernel answers for the address (zero: not)
	pAnsweredAt   time.Time // when it last did
	twoSince      time.Time // two hosts answer (zero: not)
	hearableFrom  time.Time // the secondary could hear the primary from then on
	pChanged      time.Time // the primary last died or came back

	acq, rel    bool // PreAcq ran and PostAcq has not; PreRel ran and PostRel has not
	vetoAt      time.Time
	transitions []time.Time
	wakes       []time.Time
	deafAt      time.Time // failoverd's ARP listener last failed
	hookRuns    []time.Time
	notices     map[notice.Kind]int
	taken       int // takeovers (adds by the secondary)

	// The operator (failoverctl, failoverctl(8)): a hold in force; what
	// the last acquire or release asked for (--force); whether the
	// takeover under way is the operator's, and forced; whether the
	// secondary holds the address by a forced acquire (it gives it back
	// once the primary has been heard for a hold-down, and two hosts
	// answer meanwhile); until when two hosts answering is the
	// operator's doing after a resume (a primary heard while held must
	// be heard for another hold-down).
	// The primary's service checks: failing since (zero: passing), and
	// when they last began to pass.
	checksFailSince, checksPassAt time.Time

	held            bool
	forceAsked      bool
	opAcq, opForced bool
	forcedHolds     bool
	forcedAt        time.Time // when it took it
	opRel           bool      // the give-back under way is the operator's
	operatorUntil   time.Time
}

// checksLocked: the primary's service checks fail (or pass) from now.
func (c *checker) checksLocked(fail bool) {
	now := time.Now()
	switch {
	case fail && c.checksFailSince.IsZero():
		c.checksFailSince = now
	case !fail && !c.checksFailSince.IsZero():
		c.checksFailSince, c.checksPassAt = time.Time{}, now
	}
	c.evalLocked()
}

// yields: in service-address mode, the primary gives its address up
// while its checks fail, and until their rise (and its heartbeats saying
// so) has had time: a takeover then is the primary's own wish.
func (c *checker) yields(now time.Time) bool {
	if !c.b.Service {
		return false
	}
	if !c.checksFailSince.IsZero() {
		// It can have yielded once its checks have failed Fall rounds
		// (the first of them may run at once).
		return now.Sub(c.checksFailSince) >= time.Duration(c.b.Fall-1)*c.b.CheckEvery
	}
	return !c.checksPassAt.IsZero() && now.Sub(c.checksPassAt) < time.Duration(c.b.Rise+1)*c.b.CheckEvery+c.b.Reaction
}

// healthyFrom is when the primary's heartbeats say healthy from (now
// while its checks fail): their rise, and a round.
func (c *checker) healthyFrom(now time.Time) time.Time {
	if !c.checksFailSince.IsZero() {
		return now
	}
	if c.checksPassAt.IsZero() {
		return time.Time{}
	}
	return c.checksPassAt.Add(time.Duration(c.b.Rise+1) * c.b.CheckEvery)
}

// operatorReason is the reason failoverd gives its hooks for a job the
// operator asked for.
const operatorReason = "operator request (failoverctl)"

// commandLocked: the operator asks failoverd for op.
func (c *checker) commandLocked(op failover.Op, force bool) {
	now := time.Now()
	switch op {
	case failover.OpAcquire, failover.OpRelease:
		c.forceAsked = force && op == failover.OpAcquire // the last one asked wins
	case failover.OpHold:
		c.held = true
	case failover.OpResume:
		if c.held {
			c.held = false
			c.operatorUntil = later(c.operatorUntil, now.Add(c.b.HoldDown))
		}
	}
	c.evalLocked()
}

func newChecker(w *World, b bounds) *checker {
	return &checker{w: w, b: b, notices: map[notice.Kind]int{}}
}

func (c *checker) fail(format string, args ...any) {
	if c.breach != "" {
		return
	}
	c.breach = fmt.Sprintf(format, args...)
	c.breachAt = c.w.since()
	c.w.tl.add("BREACH: %s", c.breach)
}

func (c *checker) pub(h *host) *port { return h.port(linkPub) }

// pAnswers: the primary's kernel answers for the address where the
// public link carries it (a cut link carries nobody's answer).
func (c *checker) pAnswers() bool {
	return c.pub(c.w.p).answersFor(c.w.addr) && c.w.links[linkPub].cuts == 0
}
func (c *checker) sHolds() bool   { return c.pub(c.w.s).held[c.w.addr] }
func (c *checker) sAnswers() bool { return c.pub(c.w.s).answersFor(c.w.addr) }

// someLink says a link where both ends named have carrier and nothing
// cuts it.
func (c *checker) someLink(ends ...*host) bool {
	for _, l := range c.w.links {
		ok := l.cuts == 0
		for _, h := range ends {
			ok = ok && h.port(l.name).carrier()
		}
		if ok {
			return true
		}
	}
	return false
}

// pLive: the primary runs heartbeatd and its heartbeats reach the
// secondary at loss rates the docs support. A link carries them when it
// is lit at both ends and nothing cuts it (a link dark at either end
// carries nothing: the secondary knows its own dark links, and beyond a
// lit one the primary is gone for every client there too). failoverd(8)
// gives the odds of a false takeover per interval, with p a link's loss
// of heartbeats and u = 1-(1-p)(1-p') its loss of a probe or its answer:
// p^D on each link for the dead count D, and with confirmation p*u^K on
// each link for K probes (p^(2D) and p^2*u^(2K) for two links). The
// simulation holds failoverd to the promise where the likelier of the
// two, over the links that carry, is at most one in a million per
// interval; elsewhere (one link alone at 10% loss: one in a thousand)
// the docs promise nothing.
func (c *checker) pLive() bool {
	if !c.w.p.up() || !c.hbRunning {
		return false
	}
	dead, confirm := 1.0, 1.0
	for _, l := range c.w.links {
		if l.cuts > 0 || !c.w.p.port(l.name).carrier() || !c.w.s.port(l.name).carrier() {
			continue // carries nothing: its factors are 1
		}
		if c.b.Service && l.name == linkPub && !c.vouched {
			continue // carries nothing failoverd may count yet
		}
		p, back := l.conds[c.w.p.name].loss, l.conds[c.w.s.name].loss
		u := 1 - (1-p)*(1-back)
		dead *= math.Pow(p, float64(c.b.DeadCount))
		confirm *= p * math.Pow(u, float64(c.b.Probes))
	}
	if !c.b.Confirm {
		confirm = 0
	}
	return max(dead, confirm) <= 1e-6
}

// pDead: the primary can say nothing on any link.
func (c *checker) pDead() bool {
	p := c.w.p
	return !p.up() || (!p.port(linkPriv).carrier() && !p.port(linkPub).carrier())
}

// hearable: the secondary could hear the primary's heartbeats now.
func (c *checker) hearable() bool {
	return c.pLive() && c.foRunning && c.w.s.up() && !c.stalled && c.frozen == 0 && c.someLink(c.w.p, c.w.s)
}

// sAble: the secondary could take over now.
func (c *checker) sAble() bool {
	return c.foRunning && c.w.s.up() && c.pub(c.w.s).carrier() && c.w.vetoes == 0 && c.forging == 0 && c.frozen == 0 && !c.held &&
		(c.w.sAsker == nil || !c.w.sAsker.failing) // nothing is taken while nothing hears the answers
}

// windowBound is how long two hosts may answer once the secondary can
// hear the primary: its heartbeats (a few, for loss) and the give-back.
// With failoverd's ARP listener failed (and for the second failoverd
// waits to listen again), it hears no answer: the primary's heartbeats
// give back after the hold-down instead.
func (c *checker) windowBound() time.Duration {
	if !c.deafAt.IsZero() && c.twoSince.Before(c.deafAt.Add(time.Second)) {
		return 5*c.b.Interval + c.b.Reaction + c.b.HoldDown
	}
	return 5*c.b.Interval + c.b.Reaction
}

func later(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// evalLocked checks the promises that hold at every moment.
func (c *checker) evalLocked() {
	now := time.Now()
	track := func(t *time.Time, on bool) {
		if !on {
			*t = time.Time{}
		} else if t.IsZero() {
			*t = now
		}
	}
	wasDead := !c.deadSince.IsZero()
	track(&c.liveSince, c.pLive())
	track(&c.deadSince, c.pDead())
	if wasDead != !c.deadSince.IsZero() {
		c.pChanged = now
	}
	track(&c.ableSince, c.sAble())
	pAns := c.pAnswers()
	track(&c.pAnswersSince, pAns)
	if pAns {
		c.pAnsweredAt = now
	}
	if c.w.sAsker != nil && c.w.sAsker.failing {
		c.deafAt = now
	}
	if !c.hearable() || c.w.vetoes > 0 || now.Before(c.vetoEnded.Add(c.b.VetoRetry)) || c.held {
		// Test may refuse a give-back: the administrator's veto keeps
		// the address here, the primary answering or not, until Test
		// is asked again. So does the operator's hold.
		c.hearableFrom = now
	}

	// One owner: two hosts answer only after the primary came back, and
	// only until the secondary can have heard it and let go.
	if pAns && c.sAnswers() {
		if c.twoSince.IsZero() {
			c.twoSince = now
		}
		from := later(c.twoSince, c.hearableFrom, c.operatorUntil)
		if c.forcedHolds {
			// Given back once heartbeats that say healthy have been
			// heard for a hold-down.
			from = later(from, later(c.hearableFrom, c.forcedAt, c.healthyFrom(now)).Add(c.b.HoldDown))
		}
		if now.Sub(from) > c.windowBound() {
			c.fail("two hosts have answered for %s for %v, %v of it while the secondary could hear the primary (bound %v)",
				c.w.addr, now.Sub(c.twoSince).Round(time.Millisecond), now.Sub(from).Round(time.Millisecond), c.windowBound())
		}
	} else {
		c.twoSince = time.Time{}
	}

	// A dead primary is taken within the timeout and the reaction, from
	// when the secondary could take it.
	if !c.deadSince.IsZero() && !c.ableSince.IsZero() && !c.sHolds() {
		from := later(c.deadSince, c.ableSince, c.foStarted.Add(c.b.StartWait), c.blockedUntil, c.pAnsweredAt.Add(c.b.HoldDown))
		if bound := c.b.Timeout + c.b.Reaction; now.Sub(from) > bound {
			c.fail("the primary has been dead for %v and the secondary able to take over for %v, and the address is not taken (bound %v from %v)",
				now.Sub(c.deadSince).Round(time.Millisecond), now.Sub(c.ableSince).Round(time.Millisecond), bound, from.Sub(c.w.start).Round(time.Millisecond))
		}
	}
	c.relieved(now)
}

// relieved checks, in service-address mode, that a live primary whose
// checks fail has its address taken: its checks fail Fall rounds in a
// row, it removes the address and says so in its heartbeats, and the
// secondary, hearing them, takes it within the reaction.
func (c *checker) relieved(now time.Time) {
	if !c.b.Service || c.checksFailSince.IsZero() || c.ableSince.IsZero() || c.sHolds() || !c.hearable() || c.w.vetoes > 0 {
		return
	}
	from := later(c.checksFailSince.Add(time.Duration(c.b.Fall+1)*c.b.CheckEvery), c.ableSince, c.hearableFrom,
		c.foStarted.Add(c.b.StartWait), c.blockedUntil)
	if bound := c.b.Reaction; now.Sub(from) > bound {
		c.fail("the primary's checks have failed for %v and the secondary has heard it for %v, and %s is not taken (bound %v from %v)",
			now.Sub(c.checksFailSince).Round(time.Millisecond), now.Sub(c.hearableFrom).Round(time.Millisecond), c.w.addr, bound,
			from.Sub(c.w.start).Round(time.Millisecond))
	}
}

// addedLocked: a host added ip.
func (c *checker) addedLocked(h *host, ip netip.Addr) {
	if h != c.w.s || ip != c.w.addr {
		return
	}
	now := time.Now()
	c.taken++
	if !c.acq {
		c.fail("the secondary added %s without PreAcq", ip)
	}
	if c.opForced {
		// failoverctl acquire --force: the operator takes it anyway,
		// and automatic give-back returns it after the hold-down.
		c.forcedHolds, c.forcedAt = true, now
	} else if !c.pAnswersSince.IsZero() && now.Sub(c.pAnswersSince) > c.b.AskRace {
		c.fail("the secondary added %s while the primary has answered for it for %v", ip, now.Sub(c.pAnswersSince).Round(time.Millisecond))
	}
	// An operator's acquire is no automatic takeover: it is asked of a
	// live primary too. Nor is one the primary asked for by giving its
	// service address up.
	if !c.opAcq && !c.yields(now) && !c.liveSince.IsZero() && now.Sub(c.liveSince) > c.b.Reaction {
		c.fail("the secondary took over a live primary (heartbeatd running, a link carrying its heartbeats, for %v)", now.Sub(c.liveSince).Round(time.Millisecond))
	}
	c.evalLocked()
}

// removedLocked: a host removed ip.
func (c *checker) removedLocked(h *host, ip netip.Addr) {
	if h != c.w.s || ip != c.w.addr {
		return
	}
	if !c.rel && !c.acq {
		c.fail("the secondary removed %s without PreRel", ip)
	}
	c.forcedHolds = false
	if c.rel && c.opRel {
		// failoverctl release: given back whatever the primary's
		// state; a silent primary's address is taken again as after
		// any give-back, the timeout from now.
		c.blockedUntil = later(c.blockedUntil, time.Now())
	}
	c.evalLocked()
}

// releasedLocked: the secondary sends released.
func (c *checker) releasedLocked() {
	for _, p := range c.w.s.ports {
		if len(p.held) > 0 && c.w.s.offs == 0 {
			c.fail("the secondary sent released while it still holds %v", p.held)
		}
	}
}

// hookLocked: a stage's hook starts or ends (end).
func (c *checker) hookLocked(stage hooks.Stage, exit int, end bool, reason string) {
	now := time.Now()
	operator := reason == operatorReason
	if end {
		if stage == hooks.Test && exit != 0 && !operator {
			c.vetoAt = now
		}
		return
	}
	c.rateLocked(&c.hookRuns, 20, "hooks ran")
	switch stage {
	case hooks.Test:
		// The operator asks Test whenever they like.
		if !operator && !c.vetoAt.IsZero() && now.Sub(c.vetoAt) < c.b.VetoRetry && !c.pChanged.After(c.vetoAt) {
			c.fail("Test ran again %v after it vetoed (retry %v)", now.Sub(c.vetoAt).Round(time.Millisecond), c.b.VetoRetry)
		}
	case hooks.PreAcq:
		c.acq = true
		c.opAcq, c.opForced = operator, operator && c.forceAsked
	case hooks.PostAcq:
		if !c.acq {
			c.fail("PostAcq without PreAcq")
		}
		c.acq = false
	case hooks.PreRel:
		c.rel = true
		c.opRel = operator
	case hooks.PostRel:
		if !c.rel {
			c.fail("PostRel without PreRel")
		}
		c.rel = false
	}
}

func recent(ts []time.Time, now time.Time, d time.Duration) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > d {
		i++
	}
	return ts[i:]
}

// wokeLocked: failoverd's deadline timer fired.
func (c *checker) wokeLocked() { c.rateLocked(&c.wakes, 300, "failoverd's timer woke it") }

// transitionLocked: the machine changed state. Out of vetoed, back to
// standby, it heard the primary again: a new silence is a new question
// for Test (failoverd(8): Test is asked again every 30 s while no
// heartbeat comes).
func (c *checker) transitionLocked(from, to failover.State) {
	c.rateLocked(&c.transitions, 40, "state changes")
	if from == failover.Vetoed && (to == failover.Standby || to == failover.Degraded) {
		c.vetoAt = time.Time{}
	}
}

// rateLocked records one more of what and fails when more than limit
// came in the last simulated second.
func (c *checker) rateLocked(times *[]time.Time, limit int, what string) {
	now := time.Now()
	*times = recent(append(*times, now), now, time.Second)
	if len(*times) > limit {
		c.fail("spin: %s %d times in a second", what, len(*times))
	}
}

func (c *checker) noticeLocked(k notice.Kind) { c.notices[k]++ }

// settledLocked checks the end, every fault over and the moves settled:
// the primary alone answers, and the client reaches it.
func (c *checker) settledLocked() {
	if !c.pAnswers() || c.sAnswers() {
		c.fail("settled: the primary answers %v, the secondary %v; want the primary alone", c.pAnswers(), c.sAnswers())
	}
	if got, want := c.w.c.cache[c.w.addr], c.pub(c.w.p).mac; got.String() != want.String() {
		c.fail("settled: the client reaches %s at %v, the primary's MAC is %v", c.w.addr, got, want)
	}
}
