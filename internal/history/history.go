// Package history is failoverd's memory of what happened: the last few
// hundred events (state changes, jobs with their hooks, notices, operator
// commands, dropped packets summarised per second) in a ring, so that a
// failover at 3 a.m. can be read at 9 a.m. with `failoverctl events`. It
// is a leaf: failoverctl links it to print the events.
package history

import (
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Kind says what an event records.
type Kind string

// The kinds of event.
const (
	KindStart      Kind = "start"      // failoverd started, in State
	KindTransition Kind = "transition" // the state went From → To
	KindJobStart   Kind = "job-start"  // a Job began, for Detail
	KindJobEnd     Kind = "job-end"    // a Job ended (Outcome), with its Hooks in the order they ran
	KindNotice     Kind = "notice"     // a Notice was sent, Detail its text
	KindCommand    Kind = "command"    // an operator's Op, Outcome what failoverd answered
	KindDrops      Kind = "drops"      // Count packets dropped on Link for Reason in the second before At
	KindProbe      Kind = "probe"      // a round of probes of the primary's host began (no Outcome), or ended (Outcome), Detail why
	KindCarrier    Kind = "carrier"    // Link's carrier: Outcome "up" or "lost"
	KindYield      Kind = "yield"      // whom failoverd leaves the addresses to changed: Detail says it
)

// Entry is one event as the history keeps it (a line of `failoverctl
// events`). Only the fields of its Kind are set.
type Entry struct {
	Seq  uint64    `json:"seq"` // rises by one per event, from 1 at start
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`

	State failover.State `json:"state,omitempty"` // start
	From  failover.State `json:"from,omitempty"`  // transition
	To    failover.State `json:"to,omitempty"`

	Job     failover.Job   `json:"job,omitempty"`     // job-start, job-end
	Took    time.Duration  `json:"took_ns,omitempty"` // job-end: from its start
	Hooks   []hooks.Result `json:"hooks,omitempty"`   // job-end
	Outcome string         `json:"outcome,omitempty"` // job-end, command
	Notice  notice.Kind    `json:"notice,omitempty"`  // notice
	Op      failover.Op    `json:"op,omitempty"`      // command
	Force   bool           `json:"force,omitempty"`

	Link   string          `json:"link,omitempty"` // drops, carrier
	Reason wire.DropReason `json:"reason,omitempty"`
	Count  uint64          `json:"count,omitempty"`

	Detail string `json:"detail,omitempty"` // why a job ran, a notice's text
}

// DefaultSize is how many events failoverd keeps: days of an ordinary
// pair's life, a few minutes of a flood (one drops event per link and
// reason per second).
const DefaultSize = 500

// Ring keeps the last events. It is safe for concurrent use; its lock
// is held only to copy one event in or the events out.
type Ring struct {
	mu   sync.Mutex
	buf  []Entry
	next int    // where the next event goes
	full bool   // buf has wrapped
	seq  uint64 // the last event's Seq
}

// NewRing returns a ring that keeps the last size events (DefaultSize
// when size < 1).
func NewRing(size int) *Ring {
	if size < 1 {
		size = DefaultSize
	}
	return &Ring{buf: make([]Entry, size)}
}

// Add records e, numbering it; the oldest event goes when the ring is
// full.
func (r *Ring) Add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Since returns the events at or after t (every event for the zero
// time), oldest first.
func (r *Ring) Since(t time.Time) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	add := func(es []Entry) {
		for _, e := range es {
			if !e.At.Before(t) {
				out = append(out, e)
			}
		}
	}
	if r.full {
		add(r.buf[r.next:])
	}
	add(r.buf[:r.next])
	return out
}

// Lost is how many events have been pushed out of the ring so far.
func (r *Ring) Lost() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq - uint64(min(r.seq, uint64(len(r.buf))))
}
