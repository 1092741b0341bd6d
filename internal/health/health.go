// Package health is heartbeatd's view of the service it fronts: the
// administrator's Check* hooks, run every interval, and the fall/rise
// rule that turns their results into one state, healthy or not, as
// keepalived's vrrp_script does. A failing service on a live primary is
// then a switchover (heartbeatd gives its service addresses up, and its
// heartbeats say why), not something nobody notices.
package health

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/hooks"
)

// Tracker applies the fall/rise rule: Fall failed rounds in a row make
// the service unhealthy, Rise passed rounds in a row healthy again. It
// starts healthy (a check must fail Fall times before anything moves),
// and is pure: results in, state out.
type Tracker struct {
	fall, rise int
	healthy    bool
	since      time.Time
	fails      int // failed rounds in a row
	passes     int // passed rounds in a row
	failing    Failure
}

// Failure is what the last failed round said: the first check that did
// not pass, its outcome, the last lines it wrote.
type Failure struct {
	Check   string
	Outcome string
	Tail    []string
}

// String is the failure as one line for logs, heartbeats and notices.
func (f Failure) String() string {
	s := f.Check + ": " + f.Outcome
	if len(f.Tail) > 0 {
		s += ": " + strings.Join(f.Tail, " | ")
	}
	return s
}

// NewTracker returns a tracker, healthy since now. Fall and rise below 1
// count as 1.
func NewTracker(fall, rise int, now time.Time) *Tracker {
	return &Tracker{fall: max(fall, 1), rise: max(rise, 1), healthy: true, since: now}
}

// Observe applies one round of checks (every Check* hook of every
// address, in order) and says whether the state changed. A round passes
// when every check exited 0; an error (a folder that could not be read,
// an unsafe hook) fails it.
func (t *Tracker) Observe(results []hooks.Result, err error, now time.Time) (changed bool) {
	f, failed := firstFailure(results, err)
	if failed {
		t.fails++
		t.passes = 0
		t.failing = f
		if t.healthy && t.fails >= t.fall {
			t.healthy, t.since = false, now
			return true
		}
		return false
	}
	t.passes++
	t.fails = 0
	if !t.healthy && t.passes >= t.rise {
		t.healthy, t.since = true, now
		return true
	}
	return false
}

// Healthy reports the state and since when.
func (t *Tracker) Healthy() (bool, time.Time) { return t.healthy, t.since }

// Failing is the last failed round's failure.
func (t *Tracker) Failing() Failure { return t.failing }

func firstFailure(results []hooks.Result, err error) (Failure, bool) {
	for _, r := range results {
		if !r.OK() {
			return Failure{Check: r.Name, Outcome: r.Outcome(), Tail: r.Tail}, true
		}
	}
	if err != nil {
		return Failure{Check: "(checks)", Outcome: err.Error()}, true
	}
	return Failure{}, false
}

// Detail is the failure as heartbeatd's heartbeats carry it while
// unhealthy, cut to at most max bytes (the packet's message).
func Detail(f Failure, max int) string {
	s := strings.ToValidUTF8("service checks fail: "+f.String(), "?")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "")
	}
	return s
}

// Target is one address whose folder holds checks.
type Target struct {
	Address   netip.Addr
	Interface string
}

// HookRunner runs one stage's hooks (hooks.Runner).
type HookRunner interface {
	Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error)
}

// Checker runs a round of checks every Interval, on a goroutine of its
// own (a check never delays a heartbeat), and calls OnChange when the
// state changes, with the context Run was given.
type Checker struct {
	Runner   HookRunner
	Targets  []Target
	Interval time.Duration
	Tracker  *Tracker
	Log      *slog.Logger
	OnChange func(ctx context.Context, healthy bool, f Failure)
}

// Run checks until ctx ends. A round that takes longer than Interval is
// followed by the next at once.
func (c *Checker) Run(ctx context.Context) {
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		c.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round runs every check of every target once and applies the result.
func (c *Checker) round(ctx context.Context) {
	var results []hooks.Result
	var errs []error
	for _, tg := range c.Targets {
		rs, err := c.Runner.Run(ctx, hooks.Check, hooks.Env{Action: "check", Address: tg.Address, Interface: tg.Interface})
		results = append(results, rs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ctx.Err() != nil {
		return // stopped mid-round: no verdict
	}
	err := errors.Join(errs...)
	if !c.Tracker.Observe(results, err, time.Now()) {
		if f, failed := firstFailure(results, err); failed {
			c.Log.Debug("a service check failed", "failure", f.String())
		}
		return
	}
	healthy, _ := c.Tracker.Healthy()
	if healthy {
		c.Log.Info("service healthy again: every check passed", "checks", len(results))
	} else {
		c.Log.Warn("service unhealthy: checks failed in a row", "failure", c.Tracker.Failing().String())
	}
	if c.OnChange != nil {
		c.OnChange(ctx, healthy, c.Tracker.Failing())
	}
}
