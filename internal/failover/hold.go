package failover

import "time"

// hold is what holds the jobs back or waits on them: the job under way
// (nothing else starts while it runs), what the operator asked for
// meanwhile, the operator's hold, Test's last refusal, and the takeover
// a crash left unfinished.
type hold struct {
	running     Job   // the job under way; NoJob when none
	pending     Job   // an operator's job asked for while another runs
	pendForce   bool  // it was asked for with --force
	forcing     bool  // the takeover under way (or last started) was asked for with --force
	forced      bool  // the addresses held were taken by a forced takeover
	freezeAfter bool  // hold when the running job ends
	from        State // the state the hold froze
	vetoedJob   Job   // the job Test refused, until one goes ahead
	// lastVeto: when Test last refused a takeover (or was due and did
	// not run): asked again VetoRetry later.
	lastVeto time.Time
	// keptAt: when Test last refused a give-back: it is not asked again
	// before VetoRetry later (zero: asked when wanted).
	keptAt time.Time
	// incomplete: the host held only some addresses at start.
	incomplete  bool
	toldHolding bool // "primary back, auto give-back off" was said
	// gaveAt: when the last give-back ended, or a takeover stopped on
	// an answer; for a hold-down after it no round of probes runs, and
	// the timeout decides.
	gaveAt time.Time
}

// probesFrom is when, after the last give-back, a round of probes may
// run again (zero: no give-back).
func (h *hold) probesFrom(holdDown time.Duration) time.Time {
	if h.gaveAt.IsZero() {
		return time.Time{}
	}
	return h.gaveAt.Add(holdDown)
}

// startIncomplete records that the host held only some addresses at
// start.
func (h *hold) startIncomplete() { h.incomplete = true }

// idle says no job is under way.
func (h *hold) idle() bool { return h.running == NoJob }

// start records that j is under way, forced by the operator's --force
// or not: --force belongs to the one takeover it was asked for. A
// takeover's hold of the addresses is its own (a give-back refused in an
// earlier one waits for nothing); a give-back ends what --force took.
func (h *hold) start(j Job, forced bool) {
	h.running = j
	h.incomplete = false
	h.forcing = forced && j == Takeover
	switch j {
	case Takeover:
		h.keptAt = time.Time{}
	case GiveBack:
		h.forced = false
	}
}

// end says j, reported ended, is the job under way, and records that
// none is now.
func (h *hold) end(j Job) bool {
	if h.running == NoJob || j != h.running {
		return false
	}
	h.running = NoJob
	return true
}

// request records the operator asking for j, and says whether it waits
// for the job under way (the last one asked wins).
func (h *hold) request(j Job, force bool) (waits bool) {
	if h.running == NoJob {
		return false
	}
	h.pending, h.pendForce = j, force && j == Takeover
	return true
}

// operator records that the operator's job starts: Test's last refusal
// is forgotten.
func (h *hold) operator() { h.wentAhead() }

// freezeAtEnd has the hold take effect when the job under way ends.
func (h *hold) freezeAtEnd() { h.freezeAfter = true }

// queued returns what waited on the job that ended (an operator's job,
// forced or not, a hold) and forgets it.
func (h *hold) queued() (j Job, force, freeze bool) {
	j, force, freeze = h.pending, h.pendForce, h.freezeAfter
	h.pending, h.pendForce, h.freezeAfter = NoJob, false, false
	return j, force, freeze
}

// froze records the state a hold froze.
func (h *hold) froze(s State) { h.from = s }

// resume ends the hold, or the one asked for at the job's end, and
// returns the state it froze.
func (h *hold) resume() State {
	h.freezeAfter = false
	return h.from
}

// refused records Test refusing j at at, and says whether that is news
// (the last refusal was not of j).
func (h *hold) refused(j Job, at time.Time) (news bool) {
	switch j {
	case Takeover:
		h.lastVeto = at
	case GiveBack:
		h.keptAt = at
	}
	news = h.vetoedJob != j
	h.vetoedJob = j
	return news
}

// wentAhead forgets Test's last refusal: the next one is news.
func (h *hold) wentAhead() { h.vetoedJob = NoJob }

// retryFrom has Test, which did not run at now, asked again VetoRetry
// after it.
func (h *hold) retryFrom(now time.Time) { h.lastVeto = now }

// keeping says Test refused a give-back less than retry ago: it is not
// asked again before then, whatever wants the give-back.
func (h *hold) keeping(now time.Time, retry time.Duration) bool {
	return !h.keptAt.IsZero() && now.Sub(h.keptAt) < retry
}

// keptOver forgets a refused give-back whose retry is due, so that no
// deadline stays in the past for it.
func (h *hold) keptOver(now time.Time, retry time.Duration) {
	if !h.keeping(now, retry) {
		h.keptAt = time.Time{}
	}
}

// gaveBack records a give-back done at now: nothing keeps the
// addresses now.
// stopped records a takeover that stopped on an answer before it added
// anything: as after a give-back, no round of probes runs for a
// hold-down (a primary whose links flap would otherwise start one
// takeover after another); the timeout decides.
func (h *hold) stopped(now time.Time) { h.gaveAt = now }

func (h *hold) gaveBack(now time.Time) {
	h.keptAt = time.Time{}
	h.vetoedJob = NoJob
	h.gaveAt = now
}

// tookOver records a takeover done.
func (h *hold) tookOver() {
	h.forced = h.forcing // a forced takeover holds by force until a give-back
	h.vetoedJob = NoJob
	h.toldHolding = false
}

// tellHolding says whether "primary back, auto give-back off" is news,
// and records it said.
func (h *hold) tellHolding() bool {
	if h.toldHolding {
		return false
	}
	h.toldHolding = true
	return true
}

// primaryGone records the primary unheard again: its return is news.
func (h *hold) primaryGone() { h.toldHolding = false }
