// The machine's vocabulary: the events it is handed (Event: Heartbeat,
// Tick, JobDone, Command, Carrier, Asked, Answered, Probed, ProbeAnswer,
// Refused),
// the actions it returns (Action: StartJob, Notice, Ask, Probe,
// ProbeRound, Moved, Deadline), and the values they and Status carry.

package failover

import (
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

// Answered: another host answered for one of the addresses: a reply to
// a question, or an announcement or question of its own that names the
// address as its sender.
type Answered struct {
	At   time.Time
	Addr string
	MAC  string
}

func (Answered) isEvent() {}

// Asked: the caller asked once for every address. Sent is when the
// questions went out (zero: At). They count only if every link the
// addresses are on (Params.AddrLinks) had carrier from before then until
// now: a question into a dark link is not an unanswered one.
type Asked struct{ At, Sent time.Time }

func (Asked) isEvent() {}

// Answering is who answers for an address, as far as the machine knows.
type Answering struct {
	Addr string `json:"addr"`
	MAC  string `json:"mac"`
	// Primary says the MAC is one the primary signed in its heartbeats
	// as its own. The answer itself (ARP, NA) is not authenticated: a
	// host that copies the MAC passes for the primary here too.
	Primary bool `json:"primary"`
	// PrimaryKnown says a heartbeat since failoverd started had named
	// the primary's MAC when the answer came: without one, Primary
	// false says nothing of whose the MAC is.
	PrimaryKnown bool      `json:"primary_mac_known"`
	At           time.Time `json:"at"`
}

// Whose says whose the MAC is, as far as failoverd knows, in words.
func (a Answering) Whose() string {
	switch {
	case a.Primary:
		return "the primary's MAC as its signed heartbeats name it, though another host could copy it"
	case !a.PrimaryKnown:
		return "whose, failoverd cannot tell: no heartbeat since it started has named the primary's MAC"
	}
	return "not the primary's: no heartbeat of the primary signs that MAC; another host, or the primary with a new interface"
}

// ProbeOutcome is how a round of probes ended; its text is the
// outcome label of the probe_rounds_total metric and of the history.
type ProbeOutcome string

// How a round of probes ended.
const (
	ProbeAnswered   ProbeOutcome = "answered"   // the primary's host answered: it lives
	ProbeConfirmed  ProbeOutcome = "confirmed"  // nothing answered: the takeover
	ProbeHeard      ProbeOutcome = "heard"      // a heartbeat came
	ProbeMovedOn    ProbeOutcome = "moved-on"   // the state moved on (a timeout, a job)
	ProbeIncomplete ProbeOutcome = "incomplete" // some link could not be probed: the timeout decides
)

// Probed: the caller probed the primary on Link once. Sent is when the
// probe went out (zero: At); it counts only if the link had carrier from
// before then until now, so that a probe into a dark link (or one whose
// carrier flapped while it was out) is never an unanswered one.
type Probed struct {
	At   time.Time
	Link string
	Sent time.Time
}

// ProbeAnswer: the primary's host answered on Link.
type ProbeAnswer struct {
	At   time.Time
	Link string
	MAC  string
}

// Carrier: a link's carrier came (Up) or went.
type Carrier struct {
	At   time.Time
	Link string
	Up   bool
}

// Refused: a packet from one of the primary's own addresses arrived on
// Link and was dropped, Why says why (its key, a replay); Auth: it
// failed authentication. The primary, or someone at its address, sends
// but is not heard. It changes no decision; notices say it, and none
// says the addresses may be taken by force while it lasts. Beside, set
// when the primary's heartbeats were heard within the timeout before
// At, says what such a packet may be (forged, replayed); status and the
// notices' links show it instead of Why.
type Refused struct {
	At     time.Time
	Link   string
	Why    string
	Auth   bool
	Beside string
}

func (Refused) isEvent() {}

func (Probed) isEvent() {}

func (ProbeAnswer) isEvent() {}

func (Carrier) isEvent() {}

// Health is the primary's health as heard.
type Health struct {
	Healthy bool      `json:"healthy"`
	Since   time.Time `json:"since,omitzero"`
	Detail  string    `json:"detail,omitempty"`
}

// State is where the machine is.
type State string

// The states.
const (
	Starting  State = "starting"  // initial grace: nothing heard yet
	Standby   State = "standby"   // the primary is heard on every link
	Degraded  State = "degraded"  // some links silent: anomaly
	Acquiring State = "acquiring" // takeover job running
	Active    State = "active"    // this host holds the addresses
	Releasing State = "releasing" // give-back job running
	Vetoed    State = "vetoed"    // Test refused the takeover
	Held      State = "held"      // frozen by the operator
	Asking    State = "asking"    // the primary is gone or going: waiting for its addresses to stop answering
	Conflict  State = "conflict"  // the primary is silent but another host answers for an address
)

// Job is a takeover or a give-back.
type Job string

// The jobs.
const (
	NoJob    Job = ""
	Takeover Job = "takeover"
	GiveBack Job = "giveback"
	// Fence runs Test alone, for a conflict that lasts: it may power the
	// primary off, and the takeover follows once the address is free.
	Fence Job = "fence"
)

// Action is something the caller must do.
type Action interface{ isAction() }

// StartJob: run the job (with its hooks); report the end with JobDone.
// A takeover that is not Forced stops before it adds anything if another
// host answered for an address since it started (JobDone.Answered).
type StartJob struct {
	Job    Job
	Reason string
	Forced bool
}

// Notice: tell the administrator.
type Notice struct {
	Kind   notice.Kind
	Detail string
}

// Op is an operator's command, as failoverctl sends it and the machine
// applies it.
type Op string

// The operator's commands that change what the machine does.
const (
	OpAcquire Op = "acquire" // take the addresses over now
	OpRelease Op = "release" // give them back now
	OpHold    Op = "hold"    // no automatic takeover or give-back
	OpResume  Op = "resume"  // the automatic rules apply again
)

func (StartJob) isAction() {}

func (Notice) isAction() {}

// Event is something that happened.
type Event interface{ isEvent() }

// Heartbeat: a packet from the primary on a link. Unhealthy: the
// primary's service checks fail, as Detail says.
type Heartbeat struct {
	At        time.Time
	Link      string
	Interval  time.Duration // the sender's advertised interval
	Goodbye   bool
	Unhealthy bool
	Yielded   bool // it gave its service addresses up for it
	Detail    string
	// MAC is the hardware address the primary signed in the heartbeat
	// as its own on this link (empty: it did not say). Only this, which
	// the key vouches for, makes a MAC the primary's: anyone can send
	// ARP naming any address and MAC.
	MAC string
	// Own: it came from one of the addresses to take, the primary's
	// own (the host-address mode): after its goodbye the host stays up
	// and answers for it, so more questions must go unanswered.
	Own bool
}

// Tick: time passed; the caller sends one often (a fraction of the
// shortest timeout).
type Tick struct{ At time.Time }

// JobDone: a job ended. Vetoed: Test exited non-zero (or could not be
// run) and nothing was done. Err: an address could not be added or
// removed.
type JobDone struct {
	At     time.Time
	Job    Job
	Vetoed bool
	Reason string // why it was vetoed, when Test did not simply say no
	Err    error
	// Answered: a takeover stopped before adding anything, because
	// another host answered for an address while its hooks ran.
	// Undone: PreRel and PostRel ran then to undo its PreAcq hooks.
	Answered bool
	Undone   bool
	// Refused: a takeover stopped before adding anything because the
	// arbiter did not give this host an address's key; it says why.
	Refused string
}

// Command is an operator's request. Force: an acquire that goes ahead
// although another host answers, and keeps the addresses, while it does,
// for the usual hold-down rather than giving them straight back.
type Command struct {
	At    time.Time
	Op    Op
	Force bool
}

func (Heartbeat) isEvent() {}

func (Tick) isEvent() {}

func (JobDone) isEvent() {}

func (Command) isEvent() {}

// Ask: ask who answers for the addresses every Every from now on (the
// first question at once); zero: ask no more.
type Ask struct{ Every time.Duration }

// ProbeRound: a round of probes of the primary's host began (On; How and
// Ended are then empty), or the one under way ended, How and Ended saying
// how (ProbeOutcome, in words). A round that ends and another that begins
// within one event are told as two: the end, then the beginning.
type ProbeRound struct {
	On    bool
	How   ProbeOutcome
	Ended string
}

// Probe: probe the primary's host on each of Links, once at each of the
// questions' turns, until another Probe names other links (none: stop).
// A link without carrier is never named: nothing sent there can be
// answered.
type Probe struct{ Links []string }

// Moved: the machine went from one state to another, at Since. Handle
// returns it first, once for each event that changed the state (states
// passed through within one event are not told).
type Moved struct {
	From, To State
	Since    time.Time
}

// Deadline: with no event before, hand the machine a Tick at At (zero:
// nothing is pending). PeerInterval is the primary's interval as last
// heard: a deadline that moved later need not be re-armed at once while
// the timer would fire within one and a half of them anyway.
type Deadline struct {
	At           time.Time
	PeerInterval time.Duration
}

func (Moved) isAction() {}

func (Deadline) isAction() {}

func (Ask) isAction() {}

func (ProbeRound) isAction() {}

func (Probe) isAction() {}

// Status is what the machine shows of itself, for display and for the
// operator's commands: the caller reads nothing else of it.
type Status struct {
	State        State
	Since        time.Time
	Holding      bool // the addresses are (or are being) taken
	Running      Job  // the job under way
	Links        []notice.Link
	PeerInterval time.Duration // the primary's interval as last heard
	Timeout      time.Duration
	AskWindow    time.Duration // how long an answer counts while the primary is suspected
	Health       Health        // the primary's service, as its heartbeats say
	Answering    *Answering    // another host answering for an address now; nil: none
	// Lit is how long questions for the addresses could be answered.
	Lit Lit
	// CarrierGrace is how late a carrier change may be told: a question
	// counts once it is that old with its link still lit.
	CarrierGrace time.Duration
	// Yielding names the standby this host leaves the addresses to;
	// nil: none.
	Yielding *Yielding
}

// Lit says since when every link the addresses are on has had carrier
// (zero: from the start), and the link that decides it: the one lit
// last, or one that is Dark now.
type Lit struct {
	Link  string
	Since time.Time
	Dark  bool
}

// Before says a question sent at t could be answered: every link was lit
// then and is still.
func (l Lit) Before(t time.Time) bool { return !l.Dark && l.Since.Before(t) }
