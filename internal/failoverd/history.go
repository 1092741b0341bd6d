package failoverd

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// recorder is the observer that keeps the event history.
type recorder struct {
	ring *history.Ring

	mu      sync.Mutex
	started map[failover.Job]time.Time // when each running job began
}

var _ Observer = (*recorder)(nil)

func newRecorder(size int) *recorder {
	return &recorder{ring: history.NewRing(size), started: map[failover.Job]time.Time{}}
}

func (r *recorder) Started(s failover.State, at time.Time) {
	r.ring.Add(history.Entry{At: at, Kind: history.KindStart, State: s})
}

func (r *recorder) Transition(from, to failover.State, at time.Time) {
	r.ring.Add(history.Entry{At: at, Kind: history.KindTransition, From: from, To: to})
}

func (r *recorder) JobStarted(j failover.Job, reason string, at time.Time) {
	r.mu.Lock()
	r.started[j] = at
	r.mu.Unlock()
	r.ring.Add(history.Entry{At: at, Kind: history.KindJobStart, Job: j, Detail: reason})
}

func (r *recorder) Moved(failover.Job, time.Time) {}

func (r *recorder) JobEnded(done failover.JobDone, hs []hooks.Result) {
	r.mu.Lock()
	began, ok := r.started[done.Job]
	delete(r.started, done.Job)
	r.mu.Unlock()
	e := history.Entry{At: done.At, Kind: history.KindJobEnd, Job: done.Job, Hooks: slices.Clone(hs), Outcome: jobOutcome(done)}
	if ok {
		e.Took = done.At.Sub(began)
	}
	r.ring.Add(e)
}

// jobOutcome says in a few words how a job ended.
func jobOutcome(done failover.JobDone) string {
	switch {
	case done.Answered:
		return "stopped: another host answered for an address"
	case done.Refused != "":
		return "stopped: " + done.Refused
	case done.Vetoed && done.Reason != "":
		return "vetoed: " + done.Reason
	case done.Vetoed:
		return "vetoed by Test"
	case done.Err != nil:
		return "failed: " + done.Err.Error()
	}
	return "done"
}

func (r *recorder) Notice(k notice.Kind, detail string, at time.Time) {
	r.ring.Add(history.Entry{At: at, Kind: history.KindNotice, Notice: k, Detail: detail})
}

func (r *recorder) Command(op failover.Op, force bool, at time.Time, outcome string) {
	r.ring.Add(history.Entry{At: at, Kind: history.KindCommand, Op: op, Force: force, Outcome: outcome})
}

func (r *recorder) ProbeRound(on bool, how failover.ProbeOutcome, detail string, at time.Time) {
	e := history.Entry{At: at, Kind: history.KindProbe, Detail: detail}
	if !on {
		e.Outcome = string(how)
	}
	r.ring.Add(e)
}

func (r *recorder) Carrier(link string, up bool, at time.Time) {
	e := history.Entry{At: at, Kind: history.KindCarrier, Link: link, Outcome: "lost"}
	if up {
		e.Outcome = "up"
	}
	r.ring.Add(e)
}

// Events returns the history from since on (all of it for the zero
// time), oldest first. It does not wait for the daemon's lock.
func (d *Daemon) Events(since time.Time) []history.Entry { return d.history.ring.Since(since) }

// dropsEvery is how often dropped packets are summarised in the history.
const dropsEvery = time.Second

// summariseDrops adds one history event per link and reason for the
// packets dropped in each period, until ctx ends: a flood is a line a
// second, not a line a packet.
func (d *Daemon) summariseDrops(ctx context.Context, every time.Duration) {
	type key struct {
		link   string
		reason wire.DropReason
	}
	count := func(stats map[string]monitor.LinkStats) map[key]uint64 {
		now := map[key]uint64{}
		for link, s := range stats {
			for reason, n := range s.Dropped {
				now[key{link, reason}] = n
			}
		}
		return now
	}
	seen := count(d.Source.Stats())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := count(d.Source.Stats())
		at := d.Clock.Now()
		var news []history.Entry
		for k, n := range now {
			if n > seen[k] {
				news = append(news, history.Entry{At: at, Kind: history.KindDrops, Link: k.link, Reason: k.reason, Count: n - seen[k]})
			}
		}
		slices.SortFunc(news, func(a, b history.Entry) int {
			return cmp.Or(strings.Compare(a.Link, b.Link), strings.Compare(string(a.Reason), string(b.Reason)))
		})
		for _, e := range news {
			d.history.ring.Add(e)
		}
		seen = now
	}
}
