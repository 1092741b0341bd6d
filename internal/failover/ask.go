package failover

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

// asking is what the machine knows of who answers for the addresses
// (the package doc's "Asking who answers").
type asking struct {
	since time.Time // when the current run of questions began; zero: not asking
	// The questions asked since the last answer (or since the run
	// began): how many, and when the first went out. Counting them,
	// not only the time, keeps a late asker (a busy machine) from
	// passing for a silent link.
	unanswered int
	firstQ     time.Time
	// enoughAt: when the question went that made them as many as
	// needed (each counts only once a loss of its link's carrier, told
	// late, had its time to come).
	enoughAt time.Time
	// answered: the primary's MAC answered in this run of questions,
	// or two answers came (answers), so more of them must go unanswered
	// (questionsAfterAnswer). One answer from another MAC is anyone's
	// to forge, and alone does not slow a takeover.
	answered bool
	answers  int
	// own: the primary's heartbeats on the addresses' link come from an
	// address to take (Heartbeat.Own): after its goodbye its host
	// answers on, as after an answer.
	own    bool
	last   Answered // the latest answer from another host
	primed bool     // last came from a MAC the primary's heartbeats vouch for
	placed bool     // a heartbeat had named the primary's MAC when last came

	reason  string    // why the takeover that Asking waits on is wanted
	goodbye bool      // Asking follows a goodbye: GoodbyeWait applies
	heard   bool      // an answer came after the goodbye
	byeOver bool      // GoodbyeWait passed with too few questions to tell
	told    bool      // this conflict has been noticed
	fenced  time.Time // when Test last ran for this conflict
	gaveAt  time.Time // when an answer last started a give-back
	stopped bool      // an answer stopped the last takeover while its hooks ran
	// unheardFrom: since when an address this host holds has answered
	// with the primary unheard (zero: not so).
	unheardFrom time.Time
	// afterTake: when the last takeover ended, or a link's carrier came
	// back while active: asking goes on for a hold-down after it (zero:
	// not so).
	afterTake time.Time
	// carrierBack: a link's carrier came back while active; until an
	// answer, or slow() later, the questions go at the probes' pace
	// (the first may be lost while the path comes up).
	carrierBack time.Time
}

// on says a run of questions is under way.
func (a *asking) on() bool { return !a.since.IsZero() }

// begin starts a run of questions at now: only questions from now count.
func (a *asking) begin(now time.Time) {
	a.since, a.unanswered, a.answered, a.answers = now, 0, false, 0
}

// end ends the run of questions.
func (a *asking) end() { a.since = time.Time{} }

// question counts a question that went unanswered, asked at at.
func (a *asking) question(at time.Time) {
	if a.unanswered == 0 {
		a.firstQ = at
	}
	a.unanswered++
	if a.unanswered == a.needed() {
		a.enoughAt = at
	}
}

// questionsLost forgets the questions asked: they may have gone into
// the dark.
func (a *asking) questionsLost() { a.unanswered = 0 }

// heardOwn records whether the primary's heartbeats on the addresses'
// link come from an address to take.
func (a *asking) heardOwn(own bool) { a.own = own }

// record keeps e, from the primary's MAC if primed (placed: the
// primary's MAC was known), as the latest answer: the questions before
// it were answered.
func (a *asking) record(e Answered, primed, placed bool) {
	a.last, a.unanswered, a.primed, a.placed = e, 0, primed, placed
}

// heardAnswer records an answer from another host; inAsking: the
// machine is in the Asking state, where one after a goodbye slows the
// questions.
func (a *asking) heardAnswer(e Answered, primed, placed, inAsking bool) {
	a.record(e, primed, placed)
	if a.on() {
		a.answers++
		a.answered = a.answered || primed || a.answers >= 2
	}
	if inAsking && a.goodbye {
		a.heard = true
	}
}

// forget drops the answers heard so far, and the questions they
// answered: only questions from now on count (a run of them under way
// begins again).
func (a *asking) forget(now time.Time) {
	a.last = Answered{}
	if a.on() {
		a.begin(now)
	}
}

// answeredWithin: another host answered in the last d.
func (a *asking) answeredWithin(now time.Time, d time.Duration) bool {
	return !a.last.At.IsZero() && now.Sub(a.last.At) <= d
}

// needed is how many unanswered questions make the addresses free now.
func (a *asking) needed() int {
	if a.answered || (a.goodbye && a.own) {
		return questionsAfterAnswer
	}
	return questionsFree
}

// free: enough questions since the last answer (needed), the first q
// ago and the one that made them enough settle ago, and no answer
// within q.
func (a *asking) free(now time.Time, q, settle time.Duration) bool {
	return a.on() && a.unanswered >= a.needed() && now.Sub(a.firstQ) >= q && now.Sub(a.enoughAt) >= settle && !a.answeredWithin(now, q)
}

// freeAt is when, with no answer, the addresses are free (as free):
// never a time already past; zero until enough questions are out (each
// is an event of its own).
func (a *asking) freeAt(q, settle time.Duration) time.Time {
	if !a.on() || a.unanswered < a.needed() {
		return time.Time{}
	}
	return later(later(a.firstQ.Add(q), a.enoughAt.Add(settle)), a.last.At.Add(q+time.Nanosecond))
}

// waitFor has Asking wait, for reason, until the addresses are known
// free or answered.
func (a *asking) waitFor(reason string) { a.reason, a.goodbye = reason, false }

// byeUnanswered says Asking follows a goodbye and nothing has answered
// since.
func (a *asking) byeUnanswered() bool { return a.goodbye && !a.heard }

// waitForGoodbye has Asking wait, after a goodbye at now for reason,
// for the addresses to stop answering; only questions from now count.
func (a *asking) waitForGoodbye(reason string, now time.Time) {
	a.reason, a.goodbye, a.heard, a.byeOver = reason, true, false, false
	a.begin(now)
}

// goodbyeOver records GoodbyeWait passed with too few questions to tell.
func (a *asking) goodbyeOver() { a.byeOver = true }

// tell says whether the answer's conflict is news, and records it told.
func (a *asking) tell() bool {
	if a.told {
		return false
	}
	a.told = true
	return true
}

// conflict records a conflict begun (Test not yet run for it) and says
// whether it is news.
func (a *asking) conflict() (news bool) {
	a.fenced = time.Time{}
	return a.tell()
}

// primaryBack records the primary heard again: a later conflict is news.
func (a *asking) primaryBack() { a.told = false }

// fence records Test run for the conflict at now.
func (a *asking) fence(now time.Time) { a.fenced = now }

// jobStarted records j starting: a conflict after it is news. What
// answered before a takeover is why it waited; once it starts, only new
// answers count (a returning primary), and a give-back on an answer in
// an earlier hold of the addresses (done, or it would not be taking
// over) waits for nothing.
func (a *asking) jobStarted(j Job) {
	a.told, a.stopped = false, false
	if j == Takeover {
		a.last = Answered{}
		a.gaveAt = time.Time{}
	}
}

// stoppedTakeover records an answer that stopped the takeover while its
// hooks ran: a conflict, told by the job's notice.
func (a *asking) stoppedTakeover() {
	a.fenced, a.told, a.stopped = time.Time{}, true, true
}

// askOnFrom has the questions go on for a hold-down from at.
func (a *asking) askOnFrom(at time.Time) { a.afterTake = at }

// carrierBackAt records a link's carrier back at at while active: the
// questions go on for a hold-down, at first at the probes' pace.
func (a *asking) carrierBackAt(at time.Time) { a.afterTake, a.carrierBack = at, at }

// expire ends, at now, the hold-down of questions after a takeover and
// the quick pace after a carrier back, when their time is over or the
// machine is no longer active (or, for the pace, once answered).
func (a *asking) expire(now time.Time, active bool, holdDown, slow time.Duration) {
	if t := a.afterTake; !t.IsZero() && (!active || !now.Before(t.Add(holdDown))) {
		a.afterTake = time.Time{}
	}
	if cb := a.carrierBack; !cb.IsZero() && (!active || !now.Before(cb.Add(slow)) || a.last.At.After(cb)) {
		a.carrierBack = time.Time{}
	}
}

// answeredUnheard records an answer for an address this host holds
// with the primary unheard, and returns since when that is so.
func (a *asking) answeredUnheard(now time.Time) time.Time {
	if a.unheardFrom.IsZero() {
		a.unheardFrom = now
	}
	return a.unheardFrom
}

// unheardNoticeAt is when answers with the primary unheard become a
// notice, if the primary stays unheard that long; zero when not
// answered so, told already, or when the last answer no longer counts
// then (a window after it): a deadline past with nothing to decide would
// have the caller tick at once, over and over (the next answer is an
// event of its own).
func (a *asking) unheardNoticeAt(interval, window time.Duration) time.Time {
	at := a.unheardFrom.Add(interval)
	if a.unheardFrom.IsZero() || a.told || at.After(a.last.At.Add(window)) {
		return time.Time{}
	}
	return at
}

// unheardOver ends a run of answers with the primary unheard.
func (a *asking) unheardOver() { a.unheardFrom = time.Time{} }

// gaveBack records a give-back an answer started at now.
func (a *asking) gaveBack(now time.Time) { a.gaveAt = now }

// gaveBackWithin says an answer started a give-back within d of now.
func (a *asking) gaveBackWithin(now time.Time, d time.Duration) bool {
	return !a.gaveAt.IsZero() && now.Sub(a.gaveAt) < d
}

// sentAt is when something reported at at went out: sent, or at when
// the caller did not say.
func sentAt(sent, at time.Time) time.Time {
	if sent.IsZero() {
		return at
	}
	return sent
}

// questionsCount says questions sent at t could be answered on every
// link the addresses are on.
func (m *Machine) questionsCount(t time.Time) bool { return m.lit().Before(t) }

// lit says since when every link the addresses are on has had carrier
// (questionsCount's rule for a time), and which link decides it.
func (m *Machine) lit() Lit {
	var out Lit
	for _, n := range m.p.AddrLinks {
		l, ok := m.links[n]
		switch {
		case !ok:
		case l.NoCarrier:
			return Lit{Link: n, Dark: true}
		case out.Link == "" || l.carrierAt.After(out.Since):
			out = Lit{Link: n, Since: l.carrierAt}
		}
	}
	return out
}

// fast is the spacing of questions after a goodbye.
func (m *Machine) fast() time.Duration { return max(m.p.AskWait/3, 100*time.Microsecond) }

// slow is the spacing of questions while the primary is suspected: a
// thirtieth of the timeout, between fast and 100 ms.
func (m *Machine) slow() time.Duration {
	return min(max(m.timeout()/30, m.fast()), 100*time.Millisecond)
}

// lead is how long before a decision the questions start: enough for a
// window of them and the first one's answer.
func (m *Machine) lead() time.Duration { return 4 * m.slow() }

func (m *Machine) spacing() time.Duration {
	if m.state == Asking && m.ask.byeUnanswered() {
		return m.fast()
	}
	if m.handingOver() && !m.health.answered && (m.state == Standby || m.state == Degraded) {
		return m.fast() // a hand-over: the addresses go before it is said
	}
	if m.probe.on {
		return min(m.slow(), m.ProbeSpacing()) // the questions go with the probes
	}
	if m.state == Active && !m.ask.carrierBack.IsZero() {
		return min(m.slow(), m.ProbeSpacing()) // a cable back: the primary may answer now
	}
	return m.slow()
}

// askWindow is how long an answer counts while the primary is
// suspected: three questions at its pace.
func (m *Machine) askWindow() time.Duration { return 3 * m.slow() }

// window is how long an answer counts: three questions.
func (m *Machine) window() time.Duration { return 3 * m.spacing() }

// askEvery is how often the caller should ask who answers for the
// addresses now; zero: not at all (told by Ask).
func (m *Machine) askEvery() time.Duration {
	if !m.ask.on() {
		return 0
	}
	return m.spacing()
}

// answering returns the latest answer from another host while it counts
// (within the last window of questions).
func (m *Machine) answering(now time.Time) (Answering, bool) {
	if !m.inUse(now) {
		return Answering{}, false
	}
	a := m.ask.last
	return Answering{Addr: a.Addr, MAC: a.MAC, Primary: m.ask.primed, PrimaryKnown: m.ask.placed, At: a.At}, true
}

// inUse: another host answered within the last window.
func (m *Machine) inUse(now time.Time) bool {
	return m.p.Ask && m.ask.answeredWithin(now, m.window())
}

// conflictQuiet is the shortest silence that ends a conflict: an
// address that answered at every question is not free because a busy
// host, or a busy secondary, was a few milliseconds late with one
// answer (at a 10 ms interval three questions span 3 ms).
const conflictQuiet = 10 * time.Millisecond

// quiet is how long the addresses must go unanswered to be free: a
// window of questions, and in a conflict conflictQuiet at least; after an
// answer stopped a takeover whose hooks ran, a hold-down, so that
// whoever answers cannot have Test and PreAcq run at will.
func (m *Machine) quiet() time.Duration {
	switch {
	case m.state == Conflict && m.ask.stopped:
		return max(m.window(), conflictQuiet, m.p.HoldDown)
	case m.state == Conflict:
		return max(m.window(), conflictQuiet)
	}
	return m.window()
}

// How many questions in a row must go unanswered for the addresses to
// count as free. Three, while nothing has answered in the run: with the
// primary's silence (the dead count, or its goodbye after it removed
// its service addresses) they only make the decision stricter. Sixteen
// once the primary's MAC, or two answers, came (answered): a host that
// answered lives, and the run may go on
// for as long as it keeps answering (a heartbeatd stopped on a live
// host, a conflict), so that, question after question, three lost in a
// row would come soon: at 10% loss each way a question goes unanswered
// with 0.19, three in a row with 0.007, sixteen with 3*10^-12. Sixteen
// too after a goodbye from a primary whose heartbeats come from the
// address to take (its host stays up and answers for it).
const (
	questionsFree        = 3
	questionsAfterAnswer = 16
)

// free: enough questions since the last answer, the first a quiet ago,
// the last of those needed settle() ago, and no answer within a quiet.
func (m *Machine) free(now time.Time) bool {
	return !m.p.Ask || m.ask.free(now, m.quiet(), m.settle())
}

// settle is how long ago the last of the questions needed must have
// gone: none while nothing answered; when a host answered (sixteen
// questions), carrierGrace and an ask wait: its host lives, and each
// question sent into this host's own link gone dark, its loss not told
// yet, must have its time for that loss to be told, which cancels it,
// and for its answer.
func (m *Machine) settle() time.Duration {
	if m.ask.needed() == questionsAfterAnswer {
		return m.carrierGrace() + m.p.AskWait
	}
	return 0
}

// asked counts a question.
func (m *Machine) asked(e Asked) []Action {
	if !m.ask.on() || !m.questionsCount(sentAt(e.Sent, e.At)) {
		return nil // not asking (any more), or asked into the dark
	}
	m.ask.question(e.At)
	return m.evaluate(e.At)
}

// heardRef is the latest time any link counts as heard from.
func (m *Machine) heardRef() time.Time {
	return later(m.lastHeard(), m.baseline)
}

// suspectAt is when, with nothing heard, the questions begin; zero when
// no decision is pending in this state.
func (m *Machine) suspectAt() time.Time {
	switch m.state {
	case Starting:
		if m.baseline.IsZero() {
			return m.since.Add(max(m.p.InitialGrace, m.timeout()) - m.lead())
		}
	case Standby, Degraded:
		if ref := m.heardRef(); !ref.IsZero() {
			return ref.Add(m.timeout() - m.lead())
		}
	case Vetoed:
		return m.hold.lastVeto.Add(m.p.VetoRetry - m.lead())
	}
	return time.Time{}
}

// wantAsk says whether the link should be asked at now.
func (m *Machine) wantAsk(now time.Time) bool {
	if !m.p.Ask {
		return false
	}
	switch m.state {
	case Asking, Conflict, Acquiring:
		return true // Acquiring: an answer before the addresses are added stops the job
	case Active:
		// The primary heard: does it answer too? And for a hold-down
		// after a takeover: an answer missed before it shows.
		return m.anyAlive() || !m.ask.afterTake.IsZero()
	case Standby, Degraded, Vetoed:
		if m.yielding() {
			// Another standby holds them, or takes them first: no
			// question would change that. Asking starts again when
			// the yield is lifted.
			return false
		}
		if m.probe.on {
			return true // the primary's host is probed: are its addresses free too?
		}
		if m.handingOver() && m.hold.idle() {
			return true // a hand-over: are its addresses free?
		}
	}
	at := m.suspectAt()
	return !at.IsZero() && !now.Before(at)
}

// updateAsking starts or ends the run of questions after an event.
func (m *Machine) updateAsking(now time.Time) {
	m.ask.expire(now, m.state == Active, m.p.HoldDown, m.slow())
	switch want := m.wantAsk(now); {
	case want && !m.ask.on():
		m.ask.begin(now)
	case !want:
		m.ask.end()
	}
}

// askDeadline is the next time asking changes the decision.
func (m *Machine) askDeadline() time.Time {
	if !m.p.Ask {
		return time.Time{}
	}
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	handOver := m.handingOver() && (m.state == Standby || m.state == Degraded)
	switch {
	case (m.state == Asking || m.state == Conflict || handOver) && m.hold.idle():
		// Free from when a window of questions has gone unanswered.
		earlier(m.ask.freeAt(m.quiet(), m.settle()))
		if m.state == Asking && m.ask.goodbye && !m.ask.byeOver {
			earlier(m.since.Add(m.p.GoodbyeWait))
		}
		if m.state == Conflict && m.p.ConflictTest > 0 {
			earlier(m.fenceAt())
		}
	case m.state == Active:
		if m.yield.Lower == "" {
			earlier(m.ask.unheardNoticeAt(m.peerInterval, m.window()))
		}
		if !m.ask.afterTake.IsZero() {
			earlier(m.ask.afterTake.Add(m.p.HoldDown))
		}
		if !m.ask.carrierBack.IsZero() {
			earlier(m.ask.carrierBack.Add(m.slow()))
		}
	}
	if !m.ask.on() && !(m.yielding() && (m.state == Standby || m.state == Degraded || m.state == Vetoed)) {
		earlier(m.suspectAt())
	}
	return next
}

// decide takes over unless another host answers for an address.
func (m *Machine) decide(reason string, now time.Time) []Action {
	switch {
	case m.yielding():
		return m.standAside(now)
	case m.free(now):
		return m.start(Takeover, reason, now)
	case m.inUse(now):
		return m.conflict(now)
	}
	// Not asked long enough to know: ask first.
	m.ask.waitFor(reason)
	m.set(Asking, now)
	m.updateAsking(now)
	return nil
}

// goodbye waits for the addresses to stop answering.
func (m *Machine) goodbye(reason string, now time.Time) []Action {
	if m.yielding() {
		return m.standAside(now)
	}
	if !m.p.Ask {
		return m.start(Takeover, reason, now)
	}
	m.ask.waitForGoodbye(reason, now)
	m.set(Asking, now)
	return m.evaluate(now)
}

func (m *Machine) conflict(now time.Time) []Action {
	m.set(Conflict, now)
	if !m.ask.conflict() {
		return nil
	}
	unheard, refused := m.unheard(now)
	if refused {
		// Whether the primary sends them, nobody here can tell: if it
		// does, it is up, and taking its address would make two owners.
		return []Action{Notice{Kind: notice.Conflict, Detail: m.conflictDetail(unheard) + "; nothing is taken over while it answers, and " + NotForced}}
	}
	return []Action{Notice{Kind: notice.Conflict, Detail: m.conflictDetail(unheard) +
		"; nothing is taken over while it answers (failoverctl acquire --force takes it anyway)"}}
}

// NotForced says why nothing is taken while another host answers and
// packets from the primary's addresses are refused, and why no notice
// then points at failoverctl acquire --force.
const NotForced = "taking it by force is no way out while those packets come: if the primary sends them, it is up, and both hosts would answer"

// refused records a packet refused from the primary's own addresses.
func (m *Machine) refused(e Refused) []Action {
	if l, ok := m.links[e.Link]; ok {
		l.Refused, l.RefusedAt, l.refusedWhy, l.refusedAuth = cmp.Or(e.Beside, e.Why), e.At, e.Why, e.Auth
	}
	return nil
}

// Heard says when a heartbeat of the primary's last counted (zero: none,
// or a goodbye since) and the timeout: a packet refused within the
// timeout after it is refused beside the primary's heartbeats, not
// instead of them.
func (m *Machine) Heard() (last time.Time, timeout time.Duration) { return m.lastHeard(), m.timeout() }

// Unheard says, in words, how the primary is unheard at now: silent, or
// packets from its own addresses refused within the timeout (refused),
// on which links and why. Packets that fail authentication come from
// the primary with another key, or from someone who forges its address:
// nobody here can tell which, so it says both.
func (m *Machine) Unheard(now time.Time) (s string, refused bool) { return m.unheard(now) }

func (m *Machine) unheard(now time.Time) (s string, refused bool) {
	var on []string
	why, auth := "", false
	for _, n := range m.p.Links {
		if l := m.links[n]; l.Refusing() && now.Sub(l.RefusedAt) <= m.timeout() {
			on, why, auth = append(on, n), l.refusedWhy, auth || l.refusedAuth
		}
	}
	if len(on) == 0 {
		return "the primary is silent", false
	}
	if auth {
		return fmt.Sprintf("packets from the primary's addresses on %s fail authentication (%s): its key differs, or someone forges its address", strings.Join(on, " and "), why), true
	}
	return fmt.Sprintf("packets from the primary's addresses on %s are refused (%s)", strings.Join(on, " and "), why), true
}

func (m *Machine) conflictDetail(situation string) string {
	a := m.ask.last
	whose := Answering{Primary: m.ask.primed, PrimaryKnown: m.ask.placed}.Whose()
	return fmt.Sprintf("%s is answered by %s (%s) while %s", a.Addr, a.MAC, whose, situation)
}

// heardSince says a heartbeat arrived after t.
func (m *Machine) heardSince(t time.Time) bool { return m.lastHeard().After(t) }

// heardWithin says a heartbeat arrived within the timeout before now.
func (m *Machine) heardWithin(now time.Time) bool {
	last := m.lastHeard()
	return !last.IsZero() && now.Sub(last) <= m.timeout()
}

// evaluateAsking applies the rules of the Asking and Conflict states.
func (m *Machine) evaluateAsking(now time.Time) (acts []Action, again bool) {
	if !m.hold.idle() {
		return nil, false // Test runs for the conflict
	}
	if m.yielding() {
		// Another standby took the addresses, or takes them first:
		// whoever answers is known, and no conflict.
		m.standAside(now)
		return nil, true
	}
	if m.heardSince(m.since) {
		// The primary is back (heartbeatd restarted): the other links
		// get a timeout to follow.
		m.set(Standby, now)
		m.baseline = now
		m.ask.primaryBack()
		return nil, true
	}
	if m.free(now) {
		reason := m.ask.reason + "; nothing answers for its addresses"
		if m.state == Conflict {
			reason = fmt.Sprintf("%s stopped answering after %v of conflict", m.ask.last.Addr, now.Sub(m.since).Round(time.Millisecond))
		}
		return m.start(Takeover, reason, now), false
	}
	byeOver := m.ask.goodbye && now.Sub(m.since) >= m.p.GoodbyeWait
	if m.state == Asking && byeOver && !m.inUse(now) {
		m.ask.goodbyeOver() // no answer, too few questions: wait for them
	}
	switch {
	case m.state == Asking && m.inUse(now) && (!m.ask.goodbye || byeOver):
		return m.conflict(now), false
	case m.state == Conflict && m.p.ConflictTest > 0 && !now.Before(m.fenceAt()):
		m.ask.fence(now)
		m.hold.start(Fence, false)
		unheard, _ := m.unheard(now)
		return []Action{StartJob{Job: Fence, Reason: "conflict: " + m.conflictDetail(fmt.Sprintf("%s, no heartbeat %s", unheard, m.silentFor(now)))}}, false
	}
	return nil, false
}

// fenceAt is when Test next runs for the conflict.
func (m *Machine) fenceAt() time.Time {
	if m.ask.fenced.IsZero() {
		return m.since.Add(m.p.ConflictTest)
	}
	return m.ask.fenced.Add(m.p.VetoRetry)
}

// answer records an answer from another host.
func (m *Machine) answer(e Answered) []Action {
	primed, placed := m.primaryMAC(e.MAC)
	m.ask.heardAnswer(e, primed, placed, m.state == Asking)
	m.health.heardAnswer()
	return m.evaluate(e.At)
}

// answeredWhileActive applies an answer for an address this host holds:
// with the primary heard, it is back and answers for its own address, so
// the address goes back now, not after the hold-down. Heard means by its
// heartbeats: an answer alone, whatever its MAC, is anyone's to forge,
// and is a conflict notice, never a give-back. ok says the rule applied
// and the usual ones do not.
func (m *Machine) answeredWhileActive(now time.Time) (acts []Action, ok bool) {
	if !m.p.Ask || !m.ask.answeredWithin(now, m.timeout()) {
		m.ask.unheardOver() // no answer for a timeout: a run of them ended
	}
	if !m.inUse(now) || !m.hold.idle() || m.hold.forced || m.health.yielded {
		return nil, false
	}
	// The primary is heard only if a heartbeat came after the takeover's
	// decision: one decided by a probe round leaves the links counting
	// as heard for the rest of the timeout.
	if !(m.anyAlive() && m.heardSince(m.takeFrom)) {
		if m.yield.Lower != "" {
			// A standby below this host holds the addresses too: the
			// answers are its own until it gives them back, which it
			// does once it hears this host. A stranger's run of answers
			// starts only once it is heard to hold them no more.
			m.ask.unheardOver()
			return nil, false
		}
		// A primary back answers before its first heartbeat arrives; an
		// answer that an interval brings no heartbeat to is news.
		if now.Sub(m.ask.answeredUnheard(now)) < m.peerInterval || !m.ask.tell() {
			return nil, false
		}
		unheard, _ := m.unheard(now)
		return []Action{Notice{Kind: notice.Conflict, Detail: m.conflictDetail("this host holds it and "+unheard) +
			"; this host keeps it"}}, false
	}
	m.ask.unheardOver() // the primary is heard
	if !m.p.AutoGiveBack {
		if !m.ask.tell() {
			return nil, true
		}
		return []Action{Notice{Kind: notice.Conflict, Detail: m.conflictDetail("this host holds it") +
			"; automatic give-back is off, so both answer until failoverctl release"}}, true
	}
	if m.ask.gaveBackWithin(now, m.p.HoldDown) || m.keeping(now) {
		return nil, true // a give-back for it was vetoed or failed: again after a hold-down, and Test after VetoRetry
	}
	m.ask.gaveBack(now)
	return m.start(GiveBack, m.conflictDetail("this host holds it")+
		": giving the addresses back now, since keeping them for the hold-down would only leave two hosts answering", now), true
}

// primaryMAC says mac is one the primary signed in its heartbeats as
// its own, on some link; known: some heartbeat named one.
func (m *Machine) primaryMAC(mac string) (is, known bool) {
	for _, l := range m.links {
		if l.MAC != "" {
			known = true
			is = is || l.MAC == mac
		}
	}
	return is, known
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// anyAlive says some link is heard, without the lists alive makes (it
// runs at every heartbeat).
func (m *Machine) anyAlive() bool {
	for _, l := range m.links {
		if l.Alive {
			return true
		}
	}
	return false
}
