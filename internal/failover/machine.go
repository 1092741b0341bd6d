package failover

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

// States lists every state, in the order above: metrics and other
// listings that show one line per state take it from here, so that a new
// state shows up in them (a test checks that each State constant is
// listed).
var States = []State{Starting, Standby, Degraded, Acquiring, Active, Releasing, Vetoed, Held, Asking, Conflict}

// Params configure the machine.
type Params struct {
	Links           []string      // link names (interfaces), private link first
	DeadCount       int           // intervals of silence that make a link dead
	Timeout         time.Duration // fixed timeout; zero: the peer's interval × DeadCount
	DefaultInterval time.Duration // assumed peer interval before one is heard
	InitialGrace    time.Duration
	HoldDown        time.Duration
	AutoGiveBack    bool
	VetoRetry       time.Duration // how often a vetoed takeover asks Test again

	// AddrLinks are the links the addresses to take are on: questions
	// count only while each has carrier (a subset of Links; none: all
	// questions count).
	AddrLinks []string

	// Ask says the caller asks the link who answers for the addresses
	// (the Ask action says when and how often) and reports answers. Without it
	// the machine takes over on silence alone, as the original did.
	Ask bool
	// AskWait is how long an address must go unanswered, asked three
	// times in it, to count as free after a goodbye (default 2 ms).
	AskWait time.Duration
	// GoodbyeWait is how long after a goodbye an address may go on
	// answering before that is a conflict (default 30 s).
	GoodbyeWait time.Duration
	// ConflictTest is how long a conflict lasts before Test runs for it
	// (it may fence the primary), and again every VetoRetry; 0: never.
	ConflictTest time.Duration

	// Confirm says the caller probes the primary's host when the machine
	// wants it (the Probe action) and reports the probes and answers (Probed,
	// ProbeAnswer) and carrier changes (Carrier): see the package doc. It
	// needs Ask.
	Confirm bool
	// Probes is how many probes per link must all go unanswered to
	// confirm the primary gone (default DefaultProbes).
	Probes int
	// ProbeSpacing is the time between probes; zero: a two-hundredth of
	// the primary's interval, from 1 ms to 5 ms.
	ProbeSpacing time.Duration
}

// addrLink says an address to take is on link n.
func (p *Params) addrLink(n string) bool { return slices.Contains(p.AddrLinks, n) }

// link is what the machine knows of one link: what it says of it
// (Links), and when its carrier last changed.
type link struct {
	notice.Link
	// carrierAt is when the carrier last changed (zero: never reported):
	// nothing sent on the link before then counts.
	carrierAt time.Time
	// refusedWhy and refusedAuth: why the last packet it refused
	// (Refused) was, and whether for its authentication.
	refusedWhy  string
	refusedAuth bool
}

// heard is when the link counts as last heard from: its last heartbeat,
// unless the primary said goodbye after it.
func (l *link) heard() time.Time {
	if !l.Goodbye.IsZero() {
		return time.Time{}
	}
	return l.LastHeard
}

// litSince says the link has carrier and had it since t: a frame sent on
// it at t could be answered.
func (l *link) litSince(t time.Time) bool {
	return !l.NoCarrier && l.carrierAt.Before(t)
}

// Machine is the state machine. It is not safe for concurrent use.
type Machine struct {
	p     Params
	state State
	since time.Time

	links        map[string]*link
	peerInterval time.Duration
	// baseline: a link not heard since counts from here: the first
	// heartbeat ever (the links' first packets arrive a moment apart), and
	// the end of a give-back (the public link is heard again only once
	// the address is gone from this host).
	baseline time.Time

	backSince time.Time // start of the current unbroken run of heartbeats while active
	takeFrom  time.Time // when the last takeover started (its decision)

	hold   hold    // the jobs, and what holds them back
	ask    asking  // who answers for the addresses
	health health  // the primary's service, as it says
	probe  probing // is the primary's host there?
	said   said    // what the caller was last told of asking and probing
	yield  Yield   // another standby holds the addresses or takes them first (yield.go)
	// refusedAt: when the arbiter last refused a takeover; none is
	// tried again before VetoRetry unless what it says changes.
	refusedAt time.Time
}

// New returns a machine starting at now. holding says the host already
// holds the addresses (a crash left them): the machine starts active,
// without running hooks again, and gives them back if the primary is
// heard for the hold-down.
func New(p Params, now time.Time, holding bool) *Machine {
	if p.DeadCount <= 0 {
		p.DeadCount = 3
	}
	if p.DefaultInterval <= 0 {
		p.DefaultInterval = time.Second
	}
	if p.VetoRetry <= 0 {
		p.VetoRetry = 30 * time.Second
	}
	if p.AskWait <= 0 {
		p.AskWait = 2 * time.Millisecond
	}
	if p.GoodbyeWait <= 0 {
		p.GoodbyeWait = 30 * time.Second
	}
	m := &Machine{p: p, links: map[string]*link{}, peerInterval: p.DefaultInterval, probe: newProbing()}
	for _, l := range p.Links {
		m.links[l] = &link{Link: notice.Link{Name: l}}
	}
	m.set(Starting, now)
	if holding {
		m.set(Active, now)
	}
	return m
}

func (m *Machine) set(s State, now time.Time) {
	if m.state != s {
		m.state, m.since = s, now
	}
}

// Incomplete says the host held only some of the addresses at start (a
// crash in the middle of a takeover). If the primary stays silent past the
// initial grace, the takeover is completed (the caller skips the hooks of
// addresses already held); if it is heard, everything is given back.
func (m *Machine) Incomplete() { m.hold.startIncomplete() }

// State returns the state and since when.
func (m *Machine) State() (State, time.Time) { return m.state, m.since }

// timeout is the silence after which a link counts as dead.
func (m *Machine) timeout() time.Duration {
	if m.p.Timeout > 0 {
		return m.p.Timeout
	}
	return m.peerInterval * time.Duration(m.p.DeadCount)
}

// linkList returns the links in configuration order, as they are at
// now: alive when heard within the timeout, with carrier. The rules
// give a link more (the benefit of the doubt from a give-back's end, a
// timeout for a link without carrier): what is told is what was heard.
func (m *Machine) linkList(now time.Time) []notice.Link {
	out := make([]notice.Link, 0, len(m.p.Links))
	for _, n := range m.p.Links {
		l := m.links[n]
		heard := l.heard()
		out = append(out, l.Link)
		out[len(out)-1].Alive = !heard.IsZero() && !l.NoCarrier && now.Sub(heard) <= m.timeout()
	}
	return out
}

// refresh recomputes which links are alive at now.
func (m *Machine) refresh(now time.Time) {
	to := m.timeout()
	for _, l := range m.links {
		ref := l.heard()
		if m.baseline.After(ref) {
			ref = m.baseline
		}
		l.Alive = !ref.IsZero() && now.Sub(ref) <= to
	}
}

// nextDeadline is the next time at which, with no event in between, the
// machine's decision could change: a link falling silent, the initial
// grace ending, a vetoed takeover asking Test again. The caller ticks then
// (or sooner); heartbeats, job results and commands are evaluated as they
// come. The zero time means nothing is pending.
func (m *Machine) nextDeadline() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	to := m.timeout()
	for _, l := range m.links {
		if !l.Alive {
			// Already counted silent: only a heartbeat, an event of
			// its own, changes that. Its deadline has passed, and
			// giving it again would have the caller tick at once,
			// over and over, for as long as the link stays silent.
			continue
		}
		ref := l.heard()
		if m.baseline.After(ref) {
			ref = m.baseline
		}
		if !ref.IsZero() {
			earlier(ref.Add(to + time.Nanosecond))
		}
	}
	switch m.state {
	case Starting:
		earlier(m.since.Add(max(m.p.InitialGrace, to)))
	case Vetoed:
		earlier(m.hold.lastVeto.Add(m.p.VetoRetry))
	case Standby, Degraded:
		if !m.refusedAt.IsZero() {
			earlier(m.refusedAt.Add(m.p.VetoRetry)) // the arbiter asked again
		}
	case Conflict:
		// Its deadlines are the questions' (below): a conflict waits
		// for the address to go, not for a timeout.
	case Active:
		if !m.hold.keptAt.IsZero() {
			earlier(m.hold.keptAt.Add(m.p.VetoRetry)) // Test asked again
		}
		// Completing an unfinished takeover waits for silence on every
		// link; while one is heard, its own deadline comes first.
		if m.hold.incomplete && !slices.ContainsFunc(m.p.Links, func(n string) bool { return m.links[n].Alive }) {
			earlier(m.since.Add(max(m.p.InitialGrace, to)))
		}
	}
	earlier(m.askDeadline())
	earlier(m.probeDeadline())
	return next
}

// silentFor says, in words, how long every link has been silent at
// now: since the last heartbeat (a goodbye after it or not), and since
// the last give-back's end when that came after it (the rules count the
// links from there).
func (m *Machine) silentFor(now time.Time) string {
	var last time.Time
	for _, l := range m.links {
		last = later(last, l.LastHeard)
	}
	s := "since failoverd started"
	if !last.IsZero() {
		s = fmt.Sprintf("for %v", now.Sub(last).Round(time.Millisecond))
	}
	if g := m.hold.gaveAt; g.After(last) {
		s += fmt.Sprintf(", and none in the %v since the give-back", now.Sub(g).Round(time.Millisecond))
	}
	return s
}

// lastHeard is the latest heartbeat on any link.
func (m *Machine) lastHeard() time.Time {
	var t time.Time
	for _, l := range m.links {
		if l.heard().After(t) {
			t = l.heard()
		}
	}
	return t
}

func (m *Machine) alive() (alive, silent []string) {
	for _, n := range m.p.Links {
		if m.links[n].Alive {
			alive = append(alive, n)
		} else {
			silent = append(silent, n)
		}
	}
	return alive, silent
}

// heardPast says a link of alive carried a heartbeat that the links of
// silent did not: one heard more than half an interval after the last
// heartbeat of each of them. The primary sends each round on every link
// in turn, so a primary that went away fell silent on its links a moment
// apart (microseconds), and their deadlines pass that moment apart: the
// first to pass is one silence beginning, not a link silent while another
// is heard, and the others' deadlines follow.
func (m *Machine) heardPast(alive, silent []string) bool {
	var last time.Time
	for _, n := range silent {
		if h := m.links[n].heard(); h.After(last) {
			last = h
		}
	}
	for _, n := range alive {
		if m.links[n].heard().After(last.Add(m.peerInterval / 2)) {
			return true
		}
	}
	return false
}

// Handle applies one event and returns what to do.
func (m *Machine) Handle(ev Event) []Action {
	var out []Action
	var now time.Time
	before := m.state
	switch e := ev.(type) {
	case Heartbeat:
		out, now = m.heartbeat(e), e.At
	case Answered:
		out, now = m.answer(e), e.At
	case Asked:
		out, now = m.asked(e), e.At
	case Probed:
		out, now = m.probed(e), e.At
	case ProbeAnswer:
		out, now = m.probeAnswered(e), e.At
	case Carrier:
		out, now = m.carrier(e), e.At
	case Refused:
		out, now = m.refused(e), e.At
	case Tick:
		out, now = m.evaluate(e.At), e.At
	case JobDone:
		out, now = m.jobDone(e), e.At
	case Command:
		out, now = m.command(e), e.At
	case Yield:
		out, now = m.yielded(e), e.At
	default:
		return nil
	}
	m.updateProbing(now)
	m.updateAsking(now)
	// The move first, then what changed in asking and probing: a round
	// that ends with a takeover is told ended before the job starts.
	var told []Action
	if m.state != before {
		told = append(told, Moved{From: before, To: m.state, Since: m.since})
	}
	return append(append(told, m.orders()...), out...)
}

func (m *Machine) heartbeat(e Heartbeat) []Action {
	l, ok := m.links[e.Link]
	if !ok {
		return nil // the monitor drops packets from unknown links
	}
	if e.Interval > 0 {
		m.peerInterval = e.Interval
	}
	if e.Own || m.p.addrLink(e.Link) {
		m.ask.heardOwn(e.Own) // which of its addresses it sends from, on the addresses' link
	}
	if e.Goodbye {
		// The goodbye itself does not count as the primary being heard,
		// and the link is heard from no more.
		l.Goodbye = e.At
		m.backSince = time.Time{}
		switch m.state {
		case Starting, Standby, Degraded, Vetoed:
			// The primary said it is going: take over once its
			// addresses stop answering.
			m.refresh(e.At)
			return m.goodbye("the primary said goodbye (a planned stop)", e.At)
		}
		return m.evaluate(e.At)
	}
	if m.state == Standby {
		// The primary back after silence on every link (a standby that
		// left the addresses to another): the others get a timeout to
		// follow, as at the start (their packets arrive a moment apart,
		// and a new run's first packet on a link may be dropped while
		// its filter widens to it); then the standby rules raise an
		// anomaly for those still silent.
		m.refresh(e.At)
		if alive, _ := m.alive(); len(alive) == 0 {
			m.baseline = e.At
		}
	}
	l.LastHeard, l.Goodbye = e.At, time.Time{}
	if e.MAC != "" {
		l.MAC = e.MAC
	}
	if m.baseline.IsZero() {
		m.baseline = e.At
	}
	notices := m.heardHealth(e)
	if (m.state == Active || m.state == Acquiring) && m.backSince.IsZero() && !e.Unhealthy {
		m.backSince = e.At // the primary is back: the hold-down starts here
	}
	return append(notices, m.evaluate(e.At)...)
}

func (m *Machine) start(j Job, reason string, now time.Time) []Action {
	if j == Takeover && (m.yielding() || m.refusedWithin(now)) {
		return m.standAside(now)
	}
	return m.startJob(j, reason, false, now)
}

// startJob starts j, forced (the operator's --force) or not.
func (m *Machine) startJob(j Job, reason string, forced bool, now time.Time) []Action {
	m.hold.start(j, forced)
	m.ask.jobStarted(j)
	if j == Takeover {
		// Only heartbeats from the decision on are the primary back:
		// a run that began before it (the primary's return after an
		// earlier takeover, or an operator's acquire while it was
		// heard) would give the addresses back at once after a
		// takeover decided before the timeout, its links still
		// counting as heard.
		m.backSince = time.Time{}
		m.takeFrom = now
		m.set(Acquiring, now)
	} else {
		m.set(Releasing, now)
	}
	return []Action{StartJob{Job: j, Reason: reason, Forced: j == Takeover && forced}}
}

// evaluate applies the rules at now. A rule that moves to standby so
// that the standby rules apply says so (again), and they are applied in
// turn: no rule calls evaluate from within.
func (m *Machine) evaluate(now time.Time) []Action {
	for {
		acts, again := m.rules(now)
		if !again {
			return acts
		}
	}
}

// rules applies the rules of the current state at now once; again: the
// state changed and its rules apply too.
func (m *Machine) rules(now time.Time) (acts []Action, again bool) {
	m.refresh(now)
	if !m.refusedWithin(now) {
		m.refusedAt = time.Time{}
	}
	alive, silent := m.alive()
	switch m.state {
	case Acquiring:
		if len(alive) == 0 {
			m.backSince = time.Time{}
		}
		return nil, false
	case Held, Releasing:
		return nil, false
	case Asking, Conflict:
		return m.evaluateAsking(now)
	case Starting:
		if !m.baseline.IsZero() {
			m.set(Standby, now)
			return nil, true
		}
		if now.Sub(m.since) >= max(m.p.InitialGrace, m.timeout()) {
			return m.decide(fmt.Sprintf("no heartbeat on any link since start (%v)", now.Sub(m.since).Round(time.Millisecond)), now), false
		}
	case Standby, Degraded:
		if acts, ok := m.confirmed(now); ok {
			return acts, false
		}
		if len(alive) == 0 {
			return m.decide(fmt.Sprintf("no heartbeat on %s %s", strings.Join(silent, " or "), m.silentFor(now)), now), false
		}
		if acts, ok := m.handOver(now); ok && len(acts) > 0 {
			return acts, false
		}
		if len(silent) > 0 && m.state == Standby && m.heardPast(alive, silent) {
			m.set(Degraded, now)
			return []Action{Notice{Kind: notice.Anomaly, Detail: fmt.Sprintf("network anomaly: no heartbeat on %s for %v, still heard on %s; nothing taken over",
				strings.Join(silent, ", "), m.timeout(), strings.Join(alive, ", "))}}, false
		}
		if len(silent) == 0 && m.state == Degraded {
			m.set(Standby, now)
			return []Action{Notice{Kind: notice.AnomalyCleared, Detail: "heartbeats heard again on every link: " + strings.Join(alive, ", ")}}, false
		}
	case Vetoed:
		// Only a heartbeat after the vetoed takeover's decision says the
		// primary is back: a confirmed round decides while its links
		// still count as heard (within the timeout), and taking that for
		// its return would ask Test again at once, and again, instead of
		// after VetoRetry. (Not since entering the state: a hold and a
		// resume re-enter it, and the heartbeats heard while held count.)
		if !m.heardSince(m.takeFrom) {
			alive = nil
		}
		if len(alive) > 0 && m.health.unhealthy {
			// Alive, its service failing: ask Test again after VetoRetry
			// (and, while the addresses are not free, again after that).
			if now.Sub(m.hold.lastVeto) >= m.p.VetoRetry {
				acts, _ := m.handOver(now)
				if m.hold.idle() {
					m.hold.retryFrom(now) // not now (a notice at most): again after VetoRetry
				}
				return acts, false
			}
			return nil, false
		}
		if len(alive) > 0 {
			// The primary is back on some link: the others get a timeout
			// to follow (their packets arrive a moment apart), then the
			// standby rules raise an anomaly for those still silent.
			m.set(Standby, now)
			m.baseline = now
			return nil, true
		}
		if now.Sub(m.hold.lastVeto) >= m.p.VetoRetry {
			return m.decide("asking Test again: still no heartbeat on any link", now), false
		}
	case Active:
		m.hold.keptOver(now, m.p.VetoRetry) // Test may be asked again: its deadline is past
		if acts, ok := m.outranked(now); ok {
			return acts, false
		}
		acts, done := m.answeredWhileActive(now)
		if done {
			return acts, false
		}
		return append(acts, m.evaluateActive(now, alive)...), false
	}
	return nil, false
}

// evaluateActive applies the give-back rules.
func (m *Machine) evaluateActive(now time.Time, alive []string) []Action {
	if len(alive) == 0 {
		m.backSince = time.Time{} // the run of heartbeats broke (or never began)
		m.hold.primaryGone()
		if m.hold.incomplete && now.Sub(m.since) >= max(m.p.InitialGrace, m.timeout()) {
			return m.start(Takeover, "completing a takeover that an earlier run left unfinished", now)
		}
		return nil
	}
	// The run of heartbeats itself must span the hold-down: a link
	// that beats for a moment and then stays alive only by the grace
	// of the timeout does not count.
	if m.backSince.IsZero() || m.lastHeard().Sub(m.backSince) < m.p.HoldDown || m.keeping(now) {
		return nil
	}
	if !m.p.AutoGiveBack {
		if !m.hold.tellHolding() {
			return nil
		}
		return []Action{Notice{Kind: notice.PrimaryBack, Detail: "the primary is heard again on " + strings.Join(alive, ", ") +
			"; automatic give-back is off, so the addresses stay here until failoverctl release"}}
	}
	return m.start(GiveBack, fmt.Sprintf("heartbeats heard again on %s for %v", strings.Join(alive, ", "), m.lastHeard().Sub(m.backSince).Round(time.Millisecond)), now)
}

// keeping says Test refused a give-back less than VetoRetry ago.
func (m *Machine) keeping(now time.Time) bool { return m.hold.keeping(now, m.p.VetoRetry) }

func (m *Machine) jobDone(e JobDone) []Action {
	if !m.hold.end(e.Job) {
		return nil // not the job we started: ignore
	}
	var out []Action
	vetoDetail := func(what, outcome string) string {
		if e.Reason != "" {
			return fmt.Sprintf("the %s did not go ahead: %s; %s", what, e.Reason, outcome)
		}
		return fmt.Sprintf("the Test hook refused the %s; %s", what, outcome)
	}
	switch {
	case e.Job == Takeover && e.Answered:
		// A conflict, said by the job's own notice (it carries the
		// hooks that ran); the next try waits for a hold-down of quiet.
		m.hold.wentAhead()
		m.hold.stopped(e.At)
		m.set(Conflict, e.At)
		m.ask.stoppedTakeover()
		detail := "the takeover stopped before it added anything: " + m.conflictDetail("its hooks ran")
		if e.Undone {
			detail += "; its Test and PreAcq hooks had run, and PreRel and PostRel ran to undo them"
		}
		out = append(out, Notice{Kind: notice.TakeoverFailed, Detail: detail +
			fmt.Sprintf("; it is tried again once nothing has answered for %v", m.quiet())})
	case e.Job == Takeover && e.Refused != "":
		// The arbiter said no: another host holds a key, or its
		// majority did not answer. The yield it gives says when to
		// try again; the probes wait for a hold-down, as after an
		// answer.
		m.hold.wentAhead()
		m.hold.stopped(e.At)
		m.set(Standby, e.At)
		m.refusedAt = e.At
		detail := "the takeover stopped before it added anything: " + e.Refused
		if e.Undone {
			detail += "; its Test and PreAcq hooks had run, and PreRel and PostRel ran to undo them"
		}
		out = append(out, Notice{Kind: notice.TakeoverFailed, Detail: detail + fmt.Sprintf("; it is tried again when what the arbiter says changes, or after %v", m.p.VetoRetry)})
	case e.Job == Fence:
		if e.Vetoed {
			why := "it exited non-zero"
			if e.Reason != "" {
				why = e.Reason
			}
			out = append(out, Notice{Kind: notice.HookFailure, Detail: "the Test hook, run for the conflict, did not succeed: " + why +
				"; nothing is taken over while the address answers"})
		}
	case e.Job == Takeover && e.Vetoed:
		m.set(Vetoed, e.At)
		if m.hold.refused(Takeover, e.At) {
			out = append(out, Notice{Kind: notice.Veto, Detail: vetoDetail("takeover", "nothing was taken over")})
		}
	case e.Job == Takeover:
		// backSince stays: a primary heard during the job has begun its
		// hold-down already.
		m.set(Active, e.At)
		if m.p.Ask {
			m.ask.askOnFrom(e.At)
		}
		m.hold.tookOver()
		if e.Err != nil {
			out = append(out, Notice{Kind: notice.TakeoverFailed, Detail: "the takeover did not complete: " + e.Err.Error() + "; failoverd keeps trying to add what is missing"})
		} else {
			out = append(out, Notice{Kind: notice.Takeover, Detail: "took the addresses over"})
		}
	case e.Job == GiveBack && e.Vetoed:
		m.set(Active, e.At)
		m.backSince = e.At // another hold-down before asking again, and Test not before VetoRetry
		if m.hold.refused(GiveBack, e.At) {
			out = append(out, Notice{Kind: notice.Veto, Detail: vetoDetail("give-back", "this host keeps the addresses")})
		}
	case e.Job == GiveBack && e.Err != nil:
		// Something may still be held: stay active and try again after
		// another hold-down.
		m.set(Active, e.At)
		m.backSince = e.At
		m.hold.wentAhead()
		out = append(out, Notice{Kind: notice.GiveBackFailed, Detail: "the give-back did not complete: " + e.Err.Error() + "; this host may still hold addresses and tries again after the hold-down"})
	case e.Job == GiveBack:
		m.set(Standby, e.At)
		m.baseline = e.At
		m.hold.gaveBack(e.At)
		detail := "gave the addresses back to the primary"
		if !m.heardWithin(e.At) {
			unheard, _ := m.unheard(e.At)
			detail = fmt.Sprintf("gave the addresses back while %s: no heartbeat %s", unheard, m.silentFor(e.At))
		}
		out = append(out, Notice{Kind: notice.GiveBack, Detail: detail})
	}
	j, force, freeze := m.hold.queued()
	if j != NoJob {
		if acts := m.operatorJob(j, force, e.At); len(acts) > 0 {
			if freeze {
				m.hold.freezeAtEnd() // the queued job ends frozen
			}
			return append(out, acts...)
		}
	}
	if freeze {
		m.freeze(e.At)
		return out
	}
	return append(out, m.evaluate(e.At)...)
}

// operatorJob starts j unless the host is already so.
func (m *Machine) operatorJob(j Job, force bool, now time.Time) []Action {
	holds := m.holding() // not Releasing: no job runs here
	if (j == Takeover && holds) || (j == GiveBack && !holds) {
		return nil // already so
	}
	m.hold.operator()
	return m.startJob(j, "operator request (failoverctl)", force, now)
}

// command applies an operator's request. While a job runs nothing else
// starts: hold and resume take effect when it ends, and an acquire or
// release waits for it (the last one asked wins).
func (m *Machine) command(e Command) []Action {
	switch e.Op {
	case OpHold:
		if !m.hold.idle() {
			m.hold.freezeAtEnd()
			return nil
		}
		m.freeze(e.At)
		return nil
	case OpResume:
		from := m.hold.resume()
		if m.state == Held {
			m.set(from, e.At)
			m.backSince = time.Time{}
			return m.evaluate(e.At)
		}
		return nil
	case OpAcquire, OpRelease:
		j := Takeover
		if e.Op == OpRelease {
			j = GiveBack
		}
		if m.hold.request(j, e.Force) {
			return nil // after the job under way
		}
		frozen := m.state == Held
		acts := m.operatorJob(j, e.Force, e.At)
		if frozen && len(acts) > 0 {
			m.hold.freezeAtEnd() // act, and stay frozen in the result
		}
		return acts
	}
	return nil
}

// freeze holds the machine in its state (the operator's hold).
func (m *Machine) freeze(now time.Time) {
	if m.state != Held {
		m.hold.froze(m.state)
		m.set(Held, now)
	}
}

// holding reports whether the addresses are (or are being) taken.
func (m *Machine) holding() bool {
	return slices.Contains([]State{Active, Releasing}, m.state) || (m.state == Held && m.hold.from == Active)
}
