package sim

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/standby"
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
	before   string // the timeline up to it

	hbRunning    bool
	forging      int       // forged answers for the address under way
	forgedUntil  time.Time // a forgery's after-effects last until then
	blockedUntil time.Time // the dead-primary promise waits until then (a forgery's, a release's after-effects)

	deadSince     time.Time // the primary dead (zero: not)
	pAnswersSince time.Time // the primary's kernel answers for the address (zero: not)
	pAnsweredAt   time.Time // when it last did
	pChanged      time.Time // the primary last died or came back

	// pairs: two standbys answer for the address since (by the lower
	// and the higher); pairFrom: since when the lower could hear the
	// higher and give the address back.
	pairs, pairFrom map[[2]*node]time.Time
	// hearFrom: since when the first standby could hear the second's
	// announcements (both running, a link lit between them).
	hearFrom map[[2]*node]time.Time

	notices map[notice.Kind]int
	taken   int // takeovers (adds by a standby)
	// What the standbys did among themselves: takeovers by one while
	// another that ranks above it ran; times two answered at once.
	lowerTook, pairsSeen int

	// The primary's service checks: failing since (zero: passing), and
	// when they last began to pass; lastFailSince: when the last run of
	// failures began.
	checksFailSince, checksPassAt, lastFailSince time.Time

	// With an arbiter: the address's key free on the server since; the
	// primary's liveness key there, heartbeatd running, since; when
	// heartbeatd last started (zero: none).
	keyFreeSince, pRenewsSince, hbStarted time.Time
}

// nodeCheck is what the checker knows of one standby (w.mu).
type nodeCheck struct {
	running bool      // failoverd runs, and is not stopping
	started time.Time // when it last started
	// vouched: in service-address mode the primary's public heartbeats
	// come from its host address, which failoverd is not told; they
	// count only with the sender and run heard on the private link
	// (failoverd(8)): since this run of heartbeatd, or of this
	// failoverd, began, the private link has delivered one of its
	// datagrams.
	vouched bool
	stalled bool
	frozen  int // > 0: failoverd, or its asker, is held

	state         failover.State // its machine's, as last observed
	said          standby.Self   // what it last announced of itself
	holdingSince  time.Time      // it has announced that it holds the address since (zero: not)
	eligibleSince time.Time      // it has announced that it may take the address since (zero: not)
	peerInterval  time.Duration  // the primary's interval, as it last announced
	// heard: the latest announcement of each other standby its
	// failoverd took, and when it had taken it; taking: one being
	// handed to it now (what it decides meanwhile may follow either).
	heard, taking map[string]heardAnn

	liveSince    time.Time // the primary live as this standby hears it (zero: not)
	ableSince    time.Time // able to take over (zero: not)
	lastAble     time.Time // when it was last able (zero: never)
	twoSince     time.Time // it and the primary answer (zero: not)
	hearableFrom time.Time // it could hear the primary from then on
	deafAt       time.Time // its ARP listener last failed
	cutOffAt     time.Time // it was last hung or cut off the public link (it heard no answer there)
	blockedUntil time.Time // the dead-primary promise waits until then for it (a veto's after-effects)
	vetoEnded    time.Time // its Test last stopped failing
	vetoAt       time.Time

	acq, rel                     bool // PreAcq ran and PostAcq has not; PreRel ran and PostRel has not
	transitions, wakes, hookRuns []time.Time

	// The operator (failoverctl, failoverctl(8)): a hold in force; what
	// the last acquire or release asked for (--force); whether the
	// takeover under way is the operator's, and forced; whether it
	// holds the address by a forced acquire (it gives it back once the
	// primary has been heard for a hold-down, and two hosts answer
	// meanwhile); until when two hosts answering is the operator's
	// doing after a resume (a primary heard while held must be heard
	// for another hold-down).
	held            bool
	forceAsked      bool
	opAcq, opForced bool
	forcedHolds     bool
	forcedAt        time.Time // when it took it
	opRel           bool      // the give-back under way is the operator's
	operatorUntil   time.Time

	// With an arbiter: since when it has had a live lease through a
	// majority with a leader (zero: not); when it last thawed.
	arbReadySince, thawedAt time.Time
}

// heardAnn is an announcement a standby took from another.
type heardAnn struct {
	self  standby.Self
	at    time.Time
	every time.Duration // how often its sender says it announces itself
}

func newNodeCheck() nodeCheck {
	return nodeCheck{heard: map[string]heardAnn{}, taking: map[string]heardAnn{}}
}

// checksLocked: the primary's service checks fail (or pass) from now.
func (c *checker) checksLocked(fail bool) {
	now := time.Now()
	switch {
	case fail && c.checksFailSince.IsZero():
		c.checksFailSince = now
		if !c.checksPassAt.IsZero() && now.Sub(c.checksPassAt) < c.b.CheckEvery+5*time.Millisecond {
			// No check may have run, and passed, since they last
			// failed: the failures in a row go on from then.
			c.checksFailSince = c.lastFailSince
		}
		c.lastFailSince = c.checksFailSince
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

// commandLocked: the operator asks n's failoverd for op.
func (c *checker) commandLocked(n *node, op failover.Op, force bool) {
	now := time.Now()
	switch op {
	case failover.OpAcquire, failover.OpRelease:
		n.forceAsked = force && op == failover.OpAcquire // the last one asked wins
	case failover.OpHold:
		n.held = true
	case failover.OpResume:
		if n.held {
			n.held = false
			n.operatorUntil = later(n.operatorUntil, now.Add(c.b.HoldDown))
		}
	}
	c.evalLocked()
}

func newChecker(w *World, b bounds) *checker {
	return &checker{w: w, b: b, notices: map[notice.Kind]int{}, pairs: map[[2]*node]time.Time{}, pairFrom: map[[2]*node]time.Time{},
		hearFrom: map[[2]*node]time.Time{}}
}

func (c *checker) fail(format string, args ...any) {
	if c.breach != "" {
		return
	}
	c.breach = fmt.Sprintf(format, args...)
	c.breachAt = c.w.since()
	c.w.tl.add("BREACH: %s", c.breach)
	c.before = c.w.tl.String()
}

func (c *checker) pub(h *host) *port { return h.port(linkPub) }

// pAnswers: the primary's kernel answers for the address where the
// public link carries it (a cut link carries nobody's answer).
func (c *checker) pAnswers() bool {
	return c.pub(c.w.p).answersFor(c.w.addr) && c.w.links[linkPub].cuts == 0
}

// holds: n's host holds the address and runs (a hung host's holder
// falls silent, and the others take the address after it).
func (c *checker) holds(n *node) bool { return c.pub(n.h).held[c.w.addr] && n.h.up() }
func (c *checker) answers(n *node) bool {
	return c.pub(n.h).answersFor(c.w.addr)
}

// anyHolds: some standby holds the address.
func (c *checker) anyHolds() bool {
	for _, n := range c.w.nodes {
		if c.holds(n) {
			return true
		}
	}
	return false
}

// someLink says a link where both ends named have carrier and nothing
// cuts it.
func (c *checker) someLink(ends ...*host) bool {
	for _, l := range c.w.links {
		ok := l.cuts == 0
		for _, h := range ends {
			ok = ok && h.port(l.name).carrier() && h.port(l.name).cut == 0
		}
		if ok {
			return true
		}
	}
	return false
}

// pLive: the primary runs heartbeatd and its heartbeats reach the
// standby n at loss rates the docs support. A link carries them when it
// is lit at both ends and nothing cuts it (a link dark at either end
// carries nothing: the standby knows its own dark links, and beyond a
// lit one the primary is gone for every client there too). failoverd(8)
// gives the odds of a false takeover per interval, with p a link's loss
// of heartbeats and u = 1-(1-p)(1-p') its loss of a probe or its answer:
// p^D on each link for the dead count D, and with confirmation p*u^K on
// each link for K probes (p^(2D) and p^2*u^(2K) for two links). The
// simulation holds failoverd to the promise where the likelier of the
// two, over the links that carry, is at most one in a million per
// interval; elsewhere (one link alone at 10% loss: one in a thousand)
// the docs promise nothing.
func (c *checker) pLive(n *node) bool {
	if !c.w.p.up() || !c.hbRunning || !n.h.up() {
		return false
	}
	dead, confirm := 1.0, 1.0
	for _, l := range c.w.links {
		if l.cuts > 0 || !c.w.p.port(l.name).carrier() || !n.h.port(l.name).carrier() || c.w.p.port(l.name).cut > 0 || n.h.port(l.name).cut > 0 {
			continue // carries nothing: its factors are 1
		}
		if c.b.Service && l.name == linkPub && !n.vouched {
			continue // carries nothing failoverd may count yet
		}
		p, back := l.conds[c.w.p.name].loss, l.conds[n.h.name].loss
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

// hearable: the standby n could hear the primary's heartbeats now.
func (c *checker) hearable(n *node) bool {
	return c.pLive(n) && n.running && n.h.up() && !n.stalled && n.frozen == 0 && c.someLink(c.w.p, n.h)
}

// able: the standby n could take over now.
func (c *checker) able(n *node) bool {
	return n.running && n.h.up() && c.pub(n.h).carrier() && n.vetoes == 0 && c.forging == 0 && n.frozen == 0 && !n.held &&
		(n.asker == nil || !n.asker.failing) && // nothing is taken while nothing hears the answers
		(c.w.arb == nil || c.w.arb.cutOf(n.h) == arbiter.Connected) // nor without the majority
}

// hearsHolder: the standby lo could hear hi's announcements, both
// running and a link between them lit and not cut, and give the address
// back when hi holds it (no hold, no refusal by Test, no forced
// acquire keeps it).
func (c *checker) hearsHolder(lo, hi *node, now time.Time) bool {
	return lo.running && lo.h.up() && lo.frozen == 0 && hi.running && hi.h.up() && hi.frozen == 0 && c.someLink(lo.h, hi.h) &&
		!lo.held && !lo.forcedHolds && lo.vetoes == 0 && !now.Before(lo.vetoEnded.Add(c.b.VetoRetry))
}

// windowBound is how long two hosts may answer once the standby n can
// hear the primary: its heartbeats (a few, for loss) and the give-back.
// With failoverd's ARP listener failed (and for the second failoverd
// waits to listen again), it hears no answer: the primary's heartbeats
// give back after the hold-down instead.
func (c *checker) windowBound(n *node) time.Duration {
	if !n.deafAt.IsZero() && n.twoSince.Before(n.deafAt.Add(time.Second)) {
		return 5*c.b.Interval + c.b.Reaction + c.b.HoldDown
	}
	return 5*c.b.Interval + c.b.Reaction
}

// pace is how often n announces itself: the primary's interval as n
// knows it (the default interval before it heard one).
func (c *checker) pace(n *node) time.Duration {
	if n.peerInterval == 0 {
		return config.DefaultSenderInterval()
	}
	return n.peerInterval
}

// forgets is how long after a's last announcement n's failoverd may
// still count it alive: its timeout (the dead count of the primary's
// interval as n knows it, or of a's own when a announces less often),
// and its next look at its table.
func (c *checker) forgets(n, a *node) time.Duration {
	return time.Duration(c.b.DeadCount)*max(c.b.Interval, c.pace(n), c.pace(a)) + max(c.b.Interval, c.pace(n))
}

// remembers is how long after a standby's announcement a failoverd
// counts it alive for certain: the dead count of the primary's interval,
// which no timeout is shorter than, or of the interval the announcement
// says its sender announces itself at.
func (c *checker) remembers(a heardAnn) time.Duration {
	return time.Duration(c.b.DeadCount) * max(c.b.Interval, a.every)
}

// ranked is the standbys, the highest rank first.
func (c *checker) ranked() []*node {
	out := slices.Clone(c.w.nodes)
	slices.SortFunc(out, func(a, b *node) int {
		if a.above(b) {
			return -1
		}
		return 1
	})
	return out
}

// top is the highest standby able to take over now, and those that rank
// above it; nil: none is able.
func (c *checker) top() (*node, []*node) {
	rs := c.ranked()
	for i, n := range rs {
		if !n.ableSince.IsZero() {
			return n, rs[:i]
		}
	}
	return nil, nil
}

// yieldedFrom is when the top standby n stops waiting for those above
// it that were able and no longer are: they announced themselves until
// then, and n's failoverd counts them alive for a timeout more.
func (c *checker) yieldedFrom(n *node, above []*node) time.Time {
	var out time.Time
	for _, a := range above {
		if !a.lastAble.IsZero() {
			out = later(out, a.lastAble.Add(c.forgets(n, a)))
		}
	}
	return out
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
	track(&c.deadSince, c.pDead())
	if wasDead != !c.deadSince.IsZero() {
		c.pChanged = now
	}
	pAns := c.pAnswers()
	track(&c.pAnswersSince, pAns)
	if pAns {
		c.pAnsweredAt = now
	}
	for _, n := range c.w.nodes {
		track(&n.liveSince, c.pLive(n))
		able := c.able(n)
		track(&n.ableSince, able)
		if able {
			n.lastAble = now
		}
		if n.asker != nil && n.asker.failing {
			n.deafAt = now
		}
		if n.h.hangs > 0 || c.pub(n.h).cut > 0 {
			n.cutOffAt = now
		}
		if !c.hearable(n) || n.vetoes > 0 || now.Before(n.vetoEnded.Add(c.b.VetoRetry)) || n.held {
			// Test may refuse a give-back: the administrator's veto
			// keeps the address here, the primary answering or not,
			// until Test is asked again. So does the operator's hold.
			n.hearableFrom = now
		}

		// One owner: the primary and a standby answer only after the
		// primary came back, and only until the standby can have
		// heard it and let go.
		if !pAns || !c.answers(n) {
			n.twoSince = time.Time{}
			continue
		}
		if n.twoSince.IsZero() {
			n.twoSince = now
		}
		from := later(n.twoSince, n.hearableFrom, n.operatorUntil)
		if n.forcedHolds {
			// Given back once heartbeats that say healthy have been
			// heard for a hold-down.
			from = later(from, later(n.hearableFrom, n.forcedAt, c.healthyFrom(now)).Add(c.b.HoldDown))
		}
		if now.Sub(from) > c.windowBound(n) {
			c.fail("the primary and %s have answered for %s for %v, %v of it while %s could hear the primary (bound %v)",
				n.name, c.w.addr, now.Sub(n.twoSince).Round(time.Millisecond), now.Sub(from).Round(time.Millisecond), n.name, c.windowBound(n))
		}
	}
	for _, x := range c.w.nodes {
		for _, h := range c.w.nodes {
			if k := [2]*node{x, h}; x != h && (!c.canHear(x, h) || c.hearFrom[k].IsZero()) {
				c.hearFrom[k] = now
			}
		}
	}
	c.arbiterLocked(now)
	c.standbysOwnLocked(now)
	c.takenLocked(now)
	c.relieved(now)
}

// canHear: x could hear h's announcements now: both failoverd running,
// neither host hung nor its failoverd frozen, a link lit between them.
func (c *checker) canHear(x, h *node) bool {
	return x.running && x.h.up() && x.frozen == 0 && h.running && h.h.up() && h.frozen == 0 && c.someLink(x.h, h.h)
}

// heardHolding names a standby that has announced it holds the address
// for as long as x could hear it, long enough that some announcement
// reached x (five at its pace, against loss), and not by a forced
// acquire: x must leave the address to it.
func (c *checker) heardHolding(x *node, now time.Time) (*node, time.Duration, bool) {
	for _, h := range c.w.nodes {
		if h == x || h.holdingSince.IsZero() || h.forcedHolds {
			continue
		}
		since := later(h.holdingSince, c.hearFrom[[2]*node{x, h}])
		if d := now.Sub(since); d >= 5*max(c.b.Interval, c.pace(h))+100*time.Millisecond {
			return h, d, true
		}
	}
	return nil, 0, false
}

// heardAbove names a standby that ranks above x and has announced that
// it may take the address for as long as x could hear it, long enough
// that some announcement reached x: x must leave the address to it.
func (c *checker) heardAbove(x *node, now time.Time) (*node, time.Duration, bool) {
	for _, h := range c.w.nodes {
		if h == x || h.eligibleSince.IsZero() || !h.above(x) {
			continue
		}
		since := later(h.eligibleSince, c.hearFrom[[2]*node{x, h}])
		if d := now.Sub(since); d >= 5*max(c.b.Interval, c.pace(h))+100*time.Millisecond {
			return h, d, true
		}
	}
	return nil, 0, false
}

// standbysOwnLocked checks one owner among the standbys: two answer for
// the address only until the lower, hearing the higher hold it, gives
// it back (failoverd(8)): a few of the higher's announcements, for loss,
// and the give-back.
func (c *checker) standbysOwnLocked(now time.Time) {
	for i, a := range c.w.nodes {
		for _, b := range c.w.nodes[i+1:] {
			lo, hi := a, b
			if lo.above(hi) {
				lo, hi = hi, lo
			}
			k := [2]*node{lo, hi}
			if !c.answers(lo) || !c.answers(hi) {
				delete(c.pairs, k)
				delete(c.pairFrom, k)
				continue
			}
			if _, ok := c.pairs[k]; !ok {
				c.pairs[k] = now
				c.pairsSeen++
			}
			if !c.hearsHolder(lo, hi, now) {
				c.pairFrom[k] = now
			}
			from := later(c.pairs[k], c.pairFrom[k], lo.operatorUntil)
			bound := 5*max(c.b.Interval, c.pace(hi)) + c.b.Reaction
			if now.Sub(from) > bound {
				c.fail("%s and %s have answered for %s for %v, %v of it while %s could hear %s, which ranks above it (bound %v)",
					lo.name, hi.name, c.w.addr, now.Sub(c.pairs[k]).Round(time.Millisecond), now.Sub(from).Round(time.Millisecond),
					lo.name, hi.name, bound)
			}
		}
	}
}

// takenLocked checks that a dead primary is taken within the timeout and
// the reaction, by the highest standby able to take it, counted from
// when it could; after a higher one fell silent, its announcements
// count for a timeout more.
func (c *checker) takenLocked(now time.Time) {
	if c.deadSince.IsZero() || c.anyHolds() {
		return
	}
	n, above := c.top()
	if n == nil {
		return
	}
	af, ok := c.arbiterFrom(n)
	if !ok {
		return
	}
	from := later(c.deadSince, n.ableSince, n.started.Add(c.b.StartWait), c.blockedUntil, n.blockedUntil,
		c.pAnsweredAt.Add(c.b.HoldDown), c.yieldedFrom(n, above), af)
	if bound := c.b.Timeout + c.b.Reaction; now.Sub(from) > bound {
		c.fail("the primary has been dead for %v and %s able to take over for %v, and the address is not taken (bound %v from %v)",
			now.Sub(c.deadSince).Round(time.Millisecond), n.name, now.Sub(n.ableSince).Round(time.Millisecond), bound,
			from.Sub(c.w.start).Round(time.Millisecond))
	}
}

// relieved checks, in service-address mode, that a live primary whose
// checks fail has its address taken: its checks fail Fall rounds in a
// row, it removes the address and says so in its heartbeats, and the
// highest standby able to take it, hearing them, takes it within the
// reaction.
func (c *checker) relieved(now time.Time) {
	if !c.b.Service || c.checksFailSince.IsZero() || c.anyHolds() {
		return
	}
	n, above := c.top()
	if n == nil || !c.hearable(n) || n.vetoes > 0 {
		return
	}
	af, ok := c.arbiterFrom(n)
	if !ok {
		return
	}
	from := later(c.checksFailSince.Add(time.Duration(c.b.Fall+1)*c.b.CheckEvery), n.ableSince, n.hearableFrom,
		n.started.Add(c.b.StartWait), c.blockedUntil, n.blockedUntil, c.yieldedFrom(n, above), af)
	if bound := c.b.Reaction; now.Sub(from) > bound {
		c.fail("the primary's checks have failed for %v and %s has heard it for %v, and %s is not taken (bound %v from %v)",
			now.Sub(c.checksFailSince).Round(time.Millisecond), n.name, now.Sub(n.hearableFrom).Round(time.Millisecond), c.w.addr, bound,
			from.Sub(c.w.start).Round(time.Millisecond))
	}
}

// node is the standby on h; nil: h is no standby.
func (c *checker) node(h *host) *node {
	for _, n := range c.w.nodes {
		if n.h == h {
			return n
		}
	}
	return nil
}

// addedLocked: a host added ip.
func (c *checker) addedLocked(h *host, ip netip.Addr) {
	if h == c.w.p && ip == c.w.addr {
		c.arbiterAddLocked("primary")
	}
	n := c.node(h)
	if n == nil || ip != c.w.addr {
		return
	}
	c.arbiterAddLocked(n.name)
	now := time.Now()
	c.taken++
	for _, o := range c.w.nodes {
		if o.running && o.above(n) {
			c.lowerTook++
			break
		}
	}
	if !n.acq {
		c.fail("%s added %s without PreAcq", n.name, ip)
	}
	if n.opForced {
		// failoverctl acquire --force: the operator takes it anyway,
		// and automatic give-back returns it after the hold-down.
		n.forcedHolds, n.forcedAt = true, now
	} else if !c.pAnswersSince.IsZero() && now.Sub(c.pAnswersSince) > c.b.AskRace && now.Sub(n.cutOffAt) > c.b.Reaction {
		// (A hung host, or one cut off the public link, hears no
		// answer: it takes the address where no ARP reaches, or does
		// so within the reaction once back, and the one-owner rule
		// applies.)
		c.fail("%s added %s while the primary has answered for it for %v", n.name, ip, now.Sub(c.pAnswersSince).Round(time.Millisecond))
	}
	// An operator's acquire is no automatic takeover: it is asked of a
	// live primary too. Nor is one the primary asked for by giving its
	// service address up.
	if !n.opAcq && !c.yields(now) && !n.liveSince.IsZero() && now.Sub(n.liveSince) > c.b.Reaction {
		c.fail("%s took over a live primary (heartbeatd running, a link carrying its heartbeats, for %v)", n.name, now.Sub(n.liveSince).Round(time.Millisecond))
	}
	c.evalLocked()
}

// removedLocked: a host removed ip.
func (c *checker) removedLocked(h *host, ip netip.Addr) {
	n := c.node(h)
	if n == nil || ip != c.w.addr {
		return
	}
	if !n.rel && !n.acq && !c.arbiterLetGo(n) {
		c.fail("%s removed %s without PreRel", n.name, ip)
	}
	n.forcedHolds = false
	if n.rel && n.opRel {
		// failoverctl release: given back whatever the primary's
		// state; a silent primary's address is taken again as after
		// any give-back, the timeout from now.
		c.blockedUntil = later(c.blockedUntil, time.Now())
	}
	c.evalLocked()
}

// releasedLocked: n's failoverd sends released.
func (c *checker) releasedLocked(n *node) {
	for _, p := range n.h.ports {
		if len(p.held) > 0 && n.h.offs == 0 {
			c.fail("%s sent released while it still holds %v", n.name, p.held)
		}
	}
}

// takingLocked: p's announcement is being handed to n's failoverd.
func (c *checker) takingLocked(n *node, p standby.Peer) {
	n.taking[p.Name] = heardAnn{self: p.Self, at: time.Now(), every: p.Interval}
}

// heardLocked: n's failoverd took p's announcement, and acted on it.
func (c *checker) heardLocked(n *node, p standby.Peer) {
	n.heard[p.Name] = heardAnn{self: p.Self, at: time.Now(), every: p.Interval}
	delete(n.taking, p.Name)
}

// yieldsTo names a standby n's failoverd had taken an announcement of,
// recently enough that it counts it alive, that holds the address or
// ranks above n and may take it (failoverd(8)): n must leave the address
// to it.
func (c *checker) yieldsTo(n *node, now time.Time) (string, bool) {
	why := func(a heardAnn) string {
		switch {
		case now.Sub(a.at) > c.remembers(a):
		case a.self.Holding:
			return "holds the address"
		case a.self.Eligible && standby.Above(a.self, n.self()):
			return "ranks above it and may take the address"
		}
		return ""
	}
	for name, a := range n.heard {
		w := why(a)
		if t, ok := n.taking[name]; w == "" || (ok && why(t) == "") {
			continue // (or the one being handed to it says otherwise)
		}
		return fmt.Sprintf("%s, which %s (heard %v before)", name, w, now.Sub(a.at).Round(time.Millisecond)), true
	}
	return "", false
}

// jobLocked: n's failoverd starts job j: no takeover, and no Test for a
// conflict, of its own accord while it knows of a standby it must leave
// the address to.
func (c *checker) jobLocked(n *node, j failover.Job, reason string) {
	if reason == operatorReason || (j != failover.Takeover && j != failover.Fence) {
		return
	}
	now := time.Now()
	if who, ok := c.yieldsTo(n, now); ok {
		c.fail("%s started a %s (%s) while it had heard %s", n.name, j, reason, who)
	}
	if h, d, ok := c.heardHolding(n, now); ok {
		c.fail("%s started a %s (%s) while %s had announced it holds the address for %v, in reach", n.name, j, reason, h.name, d.Round(time.Millisecond))
	}
	if h, d, ok := c.heardAbove(n, now); ok {
		c.fail("%s started a %s (%s) while %s, above it, had announced it may take the address for %v, in reach", n.name, j, reason, h.name, d.Round(time.Millisecond))
	}
}

// noticeLocked: n's failoverd tells of k. A conflict with the MAC of a
// standby that n had heard hold the address is none: no notice.
func (c *checker) noticeLocked(n *node, k notice.Kind, detail string) {
	c.notices[k]++
	if k == notice.StandbyTie {
		// Told only of a standby that has this one's priority.
		for _, o := range c.w.nodes {
			if o != n && o.prio == n.prio {
				return
			}
		}
		c.fail("%s told of a standby of its priority, %d, and none has it: %s", n.name, n.prio, detail)
	}
	if k != notice.Conflict {
		return
	}
	now := time.Now()
	_, mac, ok := strings.Cut(detail, " is answered by ")
	if !ok {
		return
	}
	mac, _, _ = strings.Cut(mac, " ")
	for _, o := range c.w.nodes {
		a, ok := n.heard[o.name]
		if o == n || !ok || !a.self.Holding || now.Sub(a.at) > c.remembers(a) || c.pub(o.h).mac.String() != mac {
			continue
		}
		if o.forcedHolds {
			continue // the operator's failoverctl acquire --force made two owners: that is worth a word
		}
		c.fail("%s told of a conflict with %s, which it had heard hold the address %v before: %s", n.name, o.name,
			now.Sub(a.at).Round(time.Millisecond), detail)
	}
	if h, d, ok := c.heardHolding(n, now); ok && c.pub(h.h).mac.String() == mac {
		c.fail("%s told of a conflict with %s, which had announced it holds the address for %v, in reach: %s", n.name, h.name, d.Round(time.Millisecond), detail)
	}
}

// hookLocked: a stage's hook starts or ends (end) on n.
func (c *checker) hookLocked(n *node, stage hooks.Stage, exit int, end bool, reason string) {
	now := time.Now()
	operator := reason == operatorReason
	if end {
		if stage == hooks.Test && exit != 0 && !operator {
			n.vetoAt = now
		}
		return
	}
	c.rateLocked(&n.hookRuns, 20, n.name+"'s hooks ran")
	switch stage {
	case hooks.Test:
		// The operator asks Test whenever they like.
		if !operator && !n.vetoAt.IsZero() && now.Sub(n.vetoAt) < c.b.VetoRetry && !c.pChanged.After(n.vetoAt) {
			c.fail("%s's Test ran again %v after it vetoed (retry %v)", n.name, now.Sub(n.vetoAt).Round(time.Millisecond), c.b.VetoRetry)
		}
	case hooks.PreAcq:
		n.acq = true
		n.opAcq, n.opForced = operator, operator && n.forceAsked
	case hooks.PostAcq:
		if !n.acq {
			c.fail("%s: PostAcq without PreAcq", n.name)
		}
		n.acq = false
	case hooks.PreRel:
		n.rel = true
		n.opRel = operator
	case hooks.PostRel:
		if !n.rel {
			c.fail("%s: PostRel without PreRel", n.name)
		}
		n.rel = false
	}
}

func recent(ts []time.Time, now time.Time, d time.Duration) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > d {
		i++
	}
	return ts[i:]
}

// wokeLocked: n's failoverd's deadline timer fired.
func (c *checker) wokeLocked(n *node) {
	c.rateLocked(&n.wakes, 300, n.name+"'s failoverd's timer woke it")
}

// transitionLocked: n's machine changed state. Out of vetoed, back to
// standby, it heard the primary again: a new silence is a new question
// for Test (failoverd(8): Test is asked again every 30 s while no
// heartbeat comes).
func (c *checker) transitionLocked(n *node, from, to failover.State) {
	n.state = to
	c.rateLocked(&n.transitions, 40, n.name+"'s state changes")
	if from == failover.Vetoed && (to == failover.Standby || to == failover.Degraded) {
		n.vetoAt = time.Time{}
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

// settledLocked checks the end, every fault over and the moves settled:
// the primary alone answers, and the client reaches it.
func (c *checker) settledLocked() {
	for _, n := range c.w.nodes {
		if !c.pAnswers() || c.answers(n) {
			c.fail("settled: the primary answers %v, %s %v; want the primary alone", c.pAnswers(), n.name, c.answers(n))
		}
	}
	if got, want := c.w.c.cache[c.w.addr], c.pub(c.w.p).mac; got.String() != want.String() {
		c.fail("settled: the client reaches %s at %v, the primary's MAC is %v", c.w.addr, got, want)
	}
}
