package failoverd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
)

// Handle answers one control request; it is control.Serve's handler. An
// acquire or release that starts a job is answered when the job ends.
func (d *Daemon) Handle(ctx context.Context, r control.Request) control.Response {
	if r.Op == control.OpEvents {
		return control.Response{OK: true, Events: d.Events(r.Since)}
	}
	if r.Op == failover.OpAcquire && !r.Force && d.Asker != nil && len(d.Mover.Holding()) == 0 {
		// Ask first: an acquire must not make a second host answer.
		a, answered, dark := d.askNow(ctx)
		refused := d.refusedNow()
		var refusal string
		switch {
		case answered && refused != "":
			refusal = fmt.Sprintf("%s is answered by %s (%s) while %s; taking it would leave two hosts answering for it, and %s", a.Addr, a.MAC, a.Whose(), refused, failover.NotForced)
		case answered:
			refusal = fmt.Sprintf("%s is answered by %s (%s): taking it would leave two hosts answering for it; failoverctl acquire --force takes it anyway", a.Addr, a.MAC, a.Whose())
		case dark != "":
			refusal = fmt.Sprintf("cannot tell who answers for %s: %s had no carrier while failoverd asked, so nobody could answer; taking it could leave two hosts answering for it once the link is back; failoverctl acquire --force takes it anyway",
				strings.Join(d.addrStrings(), ", "), dark)
		}
		if refusal != "" {
			resp := control.Response{Error: refusal}
			d.obs.Command(r.Op, r.Force, d.Clock.Now(), "refused: "+resp.Error)
			return resp
		}
	}
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return control.Response{Error: "failoverd is stopping"}
	}
	resp, wait := d.answerLocked(r)
	if r.Op != control.OpStatus {
		d.obs.Command(r.Op, r.Force, d.Clock.Now(), commandOutcome(resp, wait))
	}
	var reply chan control.Response
	if wait {
		reply = make(chan control.Response, 1)
		d.waiters = append(d.waiters, reply)
	}
	d.mu.Unlock()
	if !wait {
		return resp
	}
	select {
	case resp := <-reply:
		return resp
	case <-ctx.Done():
		return control.Response{Error: "failoverd is stopping"}
	}
}

// answerLocked applies one request; wait says the answer comes when the
// job it started ends.
func (d *Daemon) answerLocked(r control.Request) (resp control.Response, wait bool) {
	switch r.Op {
	case control.OpStatus:
		st := d.statusLocked()
		return control.Response{OK: true, Status: &st}, false
	case failover.OpAcquire, failover.OpRelease, failover.OpHold, failover.OpResume:
	default:
		return control.Response{Error: fmt.Sprintf("unknown request %q", r.Op)}, false
	}
	d.log.Info("operator request", "op", r.Op)
	before := d.machine.Status(d.Clock.Now()).Running
	now := d.Clock.Now()
	d.applyLocked(failover.Command{At: now, Op: r.Op, Force: r.Force}, nil)
	d.rearmLocked()
	st := d.statusLocked()
	resp = control.Response{OK: true, Status: &st}
	switch {
	case r.Op == failover.OpHold && before != failover.NoJob:
		resp.Message = fmt.Sprintf("a %s is under way; failoverd holds when it ends", before)
	case r.Op == failover.OpHold:
		resp.Message = "held: no automatic takeover or give-back until failoverctl resume"
	case r.Op == failover.OpResume:
		resp.Message = "resumed: the automatic rules apply"
	case before != failover.NoJob:
		resp.Message = fmt.Sprintf("a %s is under way; your %s runs after it (see failoverctl status)", before, r.Op)
	case d.machine.Status(now).Running == failover.NoJob && r.Op == failover.OpAcquire:
		resp.Message = "this host holds the addresses already"
	case d.machine.Status(now).Running == failover.NoJob:
		resp.Message = "this host holds no address; nothing to release"
	default:
		return control.Response{}, true
	}
	return resp, false
}

// answerWaitersLocked tells the operators who started the job how it ended.
func (d *Daemon) answerWaitersLocked(done failover.JobDone) {
	if len(d.waiters) == 0 {
		return
	}
	st := d.statusLocked()
	resp := control.Response{OK: !done.Vetoed && done.Err == nil, Status: &st}
	switch {
	case done.Vetoed && done.Reason != "":
		resp.Error = done.Reason
	case done.Vetoed:
		resp.Error = "the Test hook said no; nothing changed"
	case done.Err != nil:
		resp.Error = done.Err.Error()
	case done.Job == failover.Takeover:
		resp.Message = "took the addresses over"
		if alive := slices.ContainsFunc(st.Links, func(l control.Link) bool { return l.Alive }); alive && d.cfg.Machine.AutoGiveBack && st.State != failover.Held {
			resp.Message += "; the primary is heard, so automatic give-back returns them after the hold-down (failoverctl hold keeps them)"
		}
	default:
		resp.Message = "gave the addresses back"
	}
	for _, w := range d.waiters {
		w <- resp
	}
	d.waiters = nil
}

// commandOutcome is what the event history says failoverd answered.
func commandOutcome(resp control.Response, wait bool) string {
	switch {
	case wait:
		return "a job started for it"
	case resp.Error != "":
		return "refused: " + resp.Error
	}
	return resp.Message
}

// refusedNow says how the primary is unheard while packets of its own
// addresses are refused: when a link refused one within the timeout and
// no heartbeat came within it (failover.Machine.Unheard); "" otherwise,
// and while the primary is heard.
func (d *Daemon) refusedNow() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.Clock.Now()
	if d.heardLocked(now) {
		return ""
	}
	if s, refused := d.machine.Unheard(now); refused {
		return s
	}
	return ""
}
