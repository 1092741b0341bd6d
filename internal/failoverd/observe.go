package failoverd

import (
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
)

// Observer is told what the daemon does as it happens: the event
// history and the metrics are observers. Most calls come with the
// daemon's lock held, from the goroutine that is deciding: a method must
// return at once (count, copy into a ring) and never call the daemon.
type Observer interface {
	// Started: the machine began in state (starting, or active when the
	// host held the addresses already).
	Started(state failover.State, at time.Time)
	Transition(from, to failover.State, at time.Time)
	// JobStarted: the machine decided to run job, for reason.
	JobStarted(job failover.Job, reason string, at time.Time)
	// Moved: the job's addresses are where it wanted them: the last one
	// added and announced (a takeover), or removed with `released` sent
	// (a give-back). Called from the job's goroutine, without the lock.
	Moved(job failover.Job, at time.Time)
	// JobEnded: the job's end, with every hook it ran, in order.
	JobEnded(done failover.JobDone, hookResults []hooks.Result)
	Notice(kind notice.Kind, detail string, at time.Time)
	// Command: an operator's request and what failoverd answered.
	Command(op failover.Op, force bool, at time.Time, outcome string)
	// ProbeRound: a round of probes of the primary's host began (on),
	// or ended, how (empty while on) and why in words.
	ProbeRound(on bool, how failover.ProbeOutcome, detail string, at time.Time)
	// Carrier: a link's carrier as the watch reported it (at start,
	// then each change).
	Carrier(link string, up bool, at time.Time)
}

// observers tells each of its observers.
type observers []Observer

func (os observers) Started(s failover.State, at time.Time) {
	for _, o := range os {
		o.Started(s, at)
	}
}

func (os observers) Transition(from, to failover.State, at time.Time) {
	for _, o := range os {
		o.Transition(from, to, at)
	}
}

func (os observers) JobStarted(j failover.Job, reason string, at time.Time) {
	for _, o := range os {
		o.JobStarted(j, reason, at)
	}
}

func (os observers) Moved(j failover.Job, at time.Time) {
	for _, o := range os {
		o.Moved(j, at)
	}
}

func (os observers) JobEnded(done failover.JobDone, hs []hooks.Result) {
	for _, o := range os {
		o.JobEnded(done, hs)
	}
}

func (os observers) Notice(k notice.Kind, detail string, at time.Time) {
	for _, o := range os {
		o.Notice(k, detail, at)
	}
}

func (os observers) Command(op failover.Op, force bool, at time.Time, outcome string) {
	for _, o := range os {
		o.Command(op, force, at, outcome)
	}
}

func (os observers) ProbeRound(on bool, how failover.ProbeOutcome, detail string, at time.Time) {
	for _, o := range os {
		o.ProbeRound(on, how, detail, at)
	}
}

func (os observers) Carrier(link string, up bool, at time.Time) {
	for _, o := range os {
		o.Carrier(link, up, at)
	}
}
