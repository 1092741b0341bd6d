package failover

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// timeline drives a machine with a fake clock and checks what it does.
type timeline struct {
	t     *testing.T
	m     *Machine
	now   time.Time
	lastQ time.Time // the last question asked
	got   []string  // actions since the last check, as text
	// answerProbe says whether the primary's host answers the nth probe
	// (from 1) of a round on link; nil: nothing answers.
	answerProbe func(link string, n int) bool
	probes      map[string]int         // probes per link since the first round
	canProbe    func(link string) bool // nil: every link can be probed
	// What the machine last told of asking and probing (Ask, Probe,
	// ProbeRound), which the daemon acts on.
	every      time.Duration
	probeLinks []string
	told       ProbeRound
	state      State     // where the machine said it moved last
	roundSince time.Time // when the round it said began began
	deadline   Deadline  // the deadline it said last
}

// round is what the machine last said of the round of probes.
func (tl *timeline) round() (on bool, how ProbeOutcome, ended string) {
	return tl.told.On, tl.told.How, tl.told.Ended
}

func params() Params {
	return Params{
		Links: []string{"priv0", "pub0"}, DeadCount: 3, DefaultInterval: time.Second,
		InitialGrace: 10 * time.Second, HoldDown: 5 * time.Second, AutoGiveBack: true, VetoRetry: 30 * time.Second,
	}
}

func newTimeline(t *testing.T, p Params, holding bool) *timeline {
	m := New(p, t0, holding)
	s, _ := m.State()
	return &timeline{t: t, m: m, now: t0, state: s}
}

func describe(a Action) string {
	switch a := a.(type) {
	case StartJob:
		return "start " + string(a.Job)
	case Notice:
		return "notice " + string(a.Kind)
	}
	return fmt.Sprintf("%T", a)
}

func (tl *timeline) do(ev Event) {
	for _, a := range tl.handle(ev) {
		tl.got = append(tl.got, describe(a))
	}
}

// told says a is one of the actions that tell the caller what changed
// (the state, the pace of questions, the probes), not a job or notice.
func told(a Action) bool {
	switch a.(type) {
	case Ask, Probe, ProbeRound, Moved, Deadline:
		return true
	}
	return false
}

// eventAt is when ev happened.
func eventAt(ev Event) time.Time {
	return reflect.ValueOf(ev).FieldByName("At").Interface().(time.Time)
}

// handle hands ev to the machine, keeps what it says of asking and
// probing, as the daemon does, and returns the jobs and notices.
func (tl *timeline) handle(ev Event) []Action {
	var acts []Action
	for _, a := range tl.m.Handle(ev) {
		if !told(a) {
			acts = append(acts, a)
		}
		switch a := a.(type) {
		case Ask:
			tl.every = a.Every
		case Deadline:
			tl.deadline = a
		case Probe:
			tl.probeLinks = a.Links
		case ProbeRound:
			if a.On == tl.told.On {
				tl.t.Fatalf("told a round on=%v twice in a row: %+v", a.On, a)
			}
			tl.told = a
			if a.On {
				tl.roundSince = tl.m.probe.since
			}
		case Moved:
			// The daemon logs and counts the moves from these alone:
			// each must start where the last one ended.
			if s, _ := tl.m.State(); a.From != tl.state || a.To != s || a.From == a.To {
				tl.t.Fatalf("moved %s to %s; the machine was %s and is %s", a.From, a.To, tl.state, s)
			}
			tl.state = a.To
		}
	}
	if s, _ := tl.m.State(); s != tl.state {
		tl.t.Fatalf("the machine is %s, but it said it moved to %s", s, tl.state)
	}
	// After a tick, never a deadline already past: the daemon would
	// tick at once, and again, while nothing changes.
	if _, tick := ev.(Tick); tick && !tl.deadline.At.IsZero() && !tl.deadline.At.After(eventAt(ev)) {
		d := tl.deadline.At
		tl.t.Fatalf("after %T at +%v the deadline said is +%v, not later", ev, eventAt(ev).Sub(t0), d.Sub(t0))
	}
	// The daemon sets its timer from Deadline alone.
	if d := tl.m.nextDeadline(); !d.Equal(tl.deadline.At) || tl.m.peerInterval != tl.deadline.PeerInterval {
		tl.t.Fatalf("the machine's next deadline is %v (interval %v), but it said %v", d, tl.m.peerInterval, tl.deadline)
	}
	// Every round of probes is told, begun and ended, even one that
	// ends and another begins within one event.
	if pr := tl.m.probe; pr.on != tl.told.On || (pr.on && !pr.since.Equal(tl.roundSince)) {
		tl.t.Fatalf("a round of probes on=%v since %v, but the machine said on=%v since %v", pr.on, pr.since, tl.told.On, tl.roundSince)
	}
	return acts
}

// run advances the clock by d in 100 ms ticks; links named in beating
// send a heartbeat every second on the way.
func (tl *timeline) run(d time.Duration, beating ...string) {
	end := tl.now.Add(d)
	for tl.now.Before(end) {
		tl.now = tl.now.Add(100 * time.Millisecond)
		if tl.now.Sub(t0)%time.Second == 0 {
			for _, l := range beating {
				tl.do(Heartbeat{At: tl.now, Link: l, Interval: time.Second, MAC: primaryMAC})
			}
		}
		tl.do(Tick{At: tl.now})
		tl.ask()
	}
}

func (tl *timeline) done(j Job, vetoed bool, err error) {
	tl.do(JobDone{At: tl.now, Job: j, Vetoed: vetoed, Err: err})
}

func (tl *timeline) cmd(op Op) { tl.do(Command{At: tl.now, Op: op}) }

func (tl *timeline) expect(state State, actions ...string) {
	tl.t.Helper()
	if s, _ := tl.m.State(); s != state {
		tl.t.Fatalf("at +%v: state %s, want %s (actions %q)", tl.now.Sub(t0), s, state, tl.got)
	}
	if strings.Join(tl.got, ", ") != strings.Join(actions, ", ") {
		tl.t.Fatalf("at +%v: actions %q, want %q", tl.now.Sub(t0), tl.got, actions)
	}
	tl.got = nil
}

func TestBothLinksSilentTakesOver(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(20*time.Second, "priv0", "pub0")
	tl.expect(Standby)
	tl.run(2900 * time.Millisecond) // last beat at +20 s; timeout 3 s
	tl.expect(Standby)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
}

func TestOneLinkSilentIsAnAnomalyOnly(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.run(10*time.Second, "pub0") // private cable cut
	tl.expect(Degraded, "notice anomaly")
	tl.run(10*time.Second, "pub0")
	tl.expect(Degraded) // said once
	tl.run(2*time.Second, "priv0", "pub0")
	tl.expect(Standby, "notice anomaly-cleared")
	// Now the public link dies, then the private one too.
	tl.run(5*time.Second, "priv0")
	tl.expect(Degraded, "notice anomaly")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
}

func TestTimeoutFollowsThePeersInterval(t *testing.T) {
	tl := newTimeline(t, params(), false)
	for i := 0; i < 10; i++ {
		tl.now = tl.now.Add(100 * time.Millisecond)
		tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: 100 * time.Millisecond})
		tl.do(Heartbeat{At: tl.now, Link: "pub0", Interval: 100 * time.Millisecond})
	}
	tl.expect(Standby)
	if to := tl.m.timeout(); to != 300*time.Millisecond {
		t.Fatalf("timeout %v, want 3 × 100 ms", to)
	}
	tl.now = tl.now.Add(290 * time.Millisecond)
	tl.do(Tick{At: tl.now})
	tl.expect(Standby)
	tl.now = tl.now.Add(20 * time.Millisecond)
	tl.do(Tick{At: tl.now})
	tl.expect(Acquiring, "start takeover")

	p := params()
	p.Timeout = 7 * time.Second
	tl = newTimeline(t, p, false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(6900 * time.Millisecond)
	tl.expect(Standby)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")
}

func TestGoodbyeTakesOverAtOnce(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Heartbeat{At: tl.now, Link: "priv0", Interval: time.Second, Goodbye: true})
	tl.expect(Acquiring, "start takeover")
	tl.do(Heartbeat{At: tl.now, Link: "pub0", Interval: time.Second, Goodbye: true})
	tl.expect(Acquiring)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	// The goodbye does not count as the primary being back.
	tl.run(10 * time.Second)
	tl.expect(Active)
}

// Give-back needs only the private link (the public one is silent: Linux
// drops the primary's packets from the address this host now holds), and
// an unbroken run of heartbeats for the hold-down.
func TestGiveBackOnPrivateLinkAfterHoldDown(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.run(10 * time.Second)
	tl.expect(Active)
	tl.run(4*time.Second, "priv0") // back at +17 s, hold-down 5 s
	tl.expect(Active)
	tl.run(1100*time.Millisecond, "priv0") // heard 17 … 21 s: 4 s
	tl.expect(Active)
	tl.run(time.Second, "priv0") // heard 17 … 22 s: 5 s
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
}

func TestFlappingLinkDoesNotBounceTheAddress(t *testing.T) {
	tl := newTimeline(t, params(), true) // started holding
	tl.expect(Active)
	for i := 0; i < 5; i++ {
		tl.run(3*time.Second, "priv0") // heard for 3 s ...
		tl.run(4 * time.Second)        // ... then silent past the timeout
	}
	tl.expect(Active)
	tl.run(6*time.Second, "priv0")
	tl.expect(Releasing, "start giveback")
}

func TestAutoGiveBackOff(t *testing.T) {
	p := params()
	p.AutoGiveBack = false
	tl := newTimeline(t, p, true)
	tl.run(20*time.Second, "priv0", "pub0")
	tl.expect(Active, "notice primary-back")
	tl.cmd(OpRelease)
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
}

func TestTestVetoesTakeoverAndIsAskedAgain(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed, "notice veto")
	tl.run(29 * time.Second)
	tl.expect(Vetoed)
	tl.run(time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, true, nil)
	tl.expect(Vetoed) // the veto notice is not repeated
	tl.run(30 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
}

func TestVetoedThenPrimaryBack(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.done(Takeover, true, nil)
	tl.got = nil
	tl.run(2*time.Second, "priv0", "pub0")
	tl.expect(Standby)
}

func TestTestVetoesGiveBack(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(6*time.Second, "priv0")
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, true, nil)
	tl.expect(Active, "notice veto")
	tl.run(29900*time.Millisecond, "priv0")
	tl.expect(Active) // Test is asked again only after VetoRetry (and a hold-down of heartbeats)
	tl.run(300*time.Millisecond, "priv0")
	tl.expect(Releasing, "start giveback")
}

// The primary returns while the takeover job runs: the job completes,
// and the give-back follows after the hold-down counted from the return.
func TestPrimaryReturnsDuringTakeover(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.run(3*time.Second, "priv0") // heard from +7 s, during the job
	tl.expect(Acquiring)
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.run(2800*time.Millisecond, "priv0") // heard 7 … 11 s
	tl.expect(Active)
	tl.run(400*time.Millisecond, "priv0") // heard 7 … 12 s: the hold-down
	tl.expect(Releasing, "start giveback")
}

// The primary fails again during the give-back: the job completes, and a
// new takeover follows after the timeout.
func TestPrimaryFailsDuringGiveBack(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(6*time.Second, "priv0")
	tl.expect(Releasing, "start giveback")
	tl.run(4 * time.Second) // silent during the job
	tl.expect(Releasing)
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	tl.run(2900 * time.Millisecond)
	tl.expect(Standby)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")
}

func TestGiveBackFailureKeepsActive(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(6*time.Second, "priv0")
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, errors.New("remove eth0:198.51.100.1/32: permission denied"))
	tl.expect(Active, "notice giveback-failed")
	tl.run(5100*time.Millisecond, "priv0")
	tl.expect(Releasing, "start giveback")
}

func TestInitialGrace(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(9900 * time.Millisecond)
	tl.expect(Starting)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")

	tl = newTimeline(t, params(), false)
	tl.run(3*time.Second, "pub0") // only the public link heard, from +1 s
	tl.expect(Standby)
	tl.run(1200*time.Millisecond, "pub0") // priv0 silent for 3 s since then
	tl.expect(Degraded, "notice anomaly")
}

// A crash left the addresses on the host: with the primary silent they
// are kept with no hooks run; with the primary heard they are given back.
func TestStartHoldingAddresses(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(60 * time.Second)
	tl.expect(Active)
	tl.run(6*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
}

func TestHoldAndResume(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.cmd(OpHold)
	tl.run(60 * time.Second)
	tl.expect(Held)
	if tl.m.holding() {
		t.Fatal("held in standby, yet holding")
	}
	tl.cmd(OpResume)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	// Held while active: the primary's return does not give back.
	tl.cmd(OpHold)
	tl.run(20*time.Second, "priv0")
	tl.expect(Held)
	if !tl.m.holding() {
		t.Fatal("held while active must report holding")
	}
	// An operator release while held acts, then stays held.
	tl.cmd(OpRelease)
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Held, "notice giveback")
	tl.run(20 * time.Second) // primary silent, but frozen
	tl.expect(Held)
	tl.cmd(OpResume)
	tl.expect(Acquiring, "start takeover")
}

func TestOperatorAcquireAndRelease(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.cmd(OpRelease)
	tl.expect(Standby) // nothing held: nothing to do
	tl.cmd(OpAcquire)
	tl.expect(Acquiring, "start takeover")
	tl.cmd(OpRelease) // queued behind the running job
	tl.expect(Acquiring)
	tl.done(Takeover, false, nil)
	tl.expect(Releasing, "notice takeover", "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
}

func TestHeartbeatsOnUnknownLinksAreIgnored(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(20*time.Second, "eth7")
	tl.expect(Acquiring, "start takeover")
}

// The primary comes back on one link only after a vetoed takeover: an
// anomaly, not a stuck veto.
func TestVetoedThenOneLinkBack(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.done(Takeover, true, nil)
	tl.got = nil
	tl.run(2*time.Second, "priv0") // back at +7 s
	tl.expect(Standby)
	tl.run(2200*time.Millisecond, "priv0") // pub0 still silent 3 s later
	tl.expect(Degraded, "notice anomaly")
}

// Operator commands while a job runs: nothing else starts; hold takes
// effect when the job ends; a queued job runs then, and ends frozen if a
// hold was asked.
func TestCommandsDuringAJob(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.cmd(OpHold)
	tl.cmd(OpAcquire) // already under way: nothing new starts
	tl.expect(Acquiring)
	tl.done(Takeover, false, nil)
	tl.expect(Held, "notice takeover")
	if !tl.m.holding() {
		t.Fatal("held after a takeover must report holding")
	}
	// Frozen: the primary's return does not give back.
	tl.run(10*time.Second, "priv0", "pub0")
	tl.expect(Held)

	// Held, release: acts and stays frozen; a hold and a release asked
	// during that job change nothing more.
	tl.cmd(OpRelease)
	tl.expect(Releasing, "start giveback")
	tl.cmd(OpRelease)
	tl.expect(Releasing)
	tl.done(GiveBack, false, nil)
	tl.expect(Held, "notice giveback")
	tl.cmd(OpResume)
	tl.expect(Standby)

	// A release queued during an automatic takeover runs after it, once;
	// it does not linger to fire at a later takeover.
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.cmd(OpRelease)
	tl.done(Takeover, false, nil)
	tl.expect(Releasing, "notice takeover", "start giveback")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby, "notice giveback")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
}

// A JobDone for a job that is not running (a stale report) changes
// nothing.
func TestStaleJobDoneIgnored(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.done(GiveBack, false, nil)
	tl.expect(Standby)
}

func TestVetoReasonInNotice(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.got = nil
	acts := tl.handle(JobDone{At: tl.now, Job: Takeover, Vetoed: true, Reason: "the Test hook cannot run safely"})
	if len(acts) != 1 || !strings.Contains(acts[0].(Notice).Detail, "the Test hook cannot run safely") {
		t.Fatalf("%+v", acts)
	}
}

func TestTakeoverErrorNotice(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(2*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.got = nil
	tl.done(Takeover, false, errors.New("add pub0:198.51.100.1/32: interface pub0: interface is down"))
	tl.expect(Active, "notice takeover-failed")
}

// A crash left only some addresses: with the primary silent the takeover
// is completed after the grace; with it heard, everything is given back.
func TestIncompleteAtStart(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.m.Incomplete()
	tl.run(9900 * time.Millisecond)
	tl.expect(Active)
	tl.run(200 * time.Millisecond)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")

	tl = newTimeline(t, params(), true)
	tl.m.Incomplete()
	tl.run(6*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
	tl.done(GiveBack, false, nil)
	tl.run(20*time.Second, "priv0", "pub0")
	tl.expect(Standby, "notice giveback")
}

// An unfinished takeover waits for silence: while the primary is heard
// (here with automatic give-back off, so nothing else happens) its
// deadline is not offered again and again once past, which had the caller
// tick every millisecond.
func TestIncompleteWhileHeardGivesNoPastDeadline(t *testing.T) {
	p := params()
	p.AutoGiveBack = false
	tl := newTimeline(t, p, true)
	tl.m.Incomplete()
	for range 300 { // 30 s, past the grace and the hold-down
		tl.run(100*time.Millisecond, "priv0", "pub0")
		if next := tl.m.nextDeadline(); !next.IsZero() && !next.After(tl.now) {
			t.Fatalf("at +%v the next deadline %v is past", tl.now.Sub(t0), next.Sub(t0))
		}
	}
	tl.expect(Active, "notice primary-back")
}

// Ticking only at NextDeadline gives the same decisions as ticking every
// 100 ms: the deadline names every moment a decision could change.
func TestNextDeadlineIsEnough(t *testing.T) {
	p := params()
	full := newTimeline(t, p, false)
	lazy := New(p, t0, false)
	var lazyGot []string
	now := t0
	beat := func(m *Machine, at time.Time, link string) []Action {
		return m.Handle(Heartbeat{At: at, Link: link, Interval: time.Second})
	}
	record := func(acts []Action) {
		for _, a := range acts {
			if !told(a) {
				lazyGot = append(lazyGot, describe(a))
			}
		}
	}
	// A script: both links for 5 s, priv0 only for 5 s, silence.
	for i := 0; i < 300; i++ {
		now = now.Add(100 * time.Millisecond)
		sec := now.Sub(t0)
		if sec%time.Second == 0 {
			for _, l := range []string{"priv0", "pub0"} {
				if sec <= 5*time.Second || (l == "priv0" && sec <= 10*time.Second) {
					full.do(Heartbeat{At: now, Link: l, Interval: time.Second})
					record(beat(lazy, now, l))
				}
			}
		}
		full.do(Tick{At: now})
		if d := lazy.nextDeadline(); !d.IsZero() && !now.Before(d) {
			record(lazy.Handle(Tick{At: now}))
			// A deadline acted on is not given again: the caller
			// would wake at once, and keep waking, while a link stays
			// silent.
			if d := lazy.nextDeadline(); !d.IsZero() && !d.After(now) {
				t.Fatalf("at %v, after the tick, the next deadline is %v (not later than now)", now.Sub(t0), d.Sub(t0))
			}
		}
	}
	if strings.Join(full.got, ",") != strings.Join(lazyGot, ",") {
		t.Fatalf("every 100 ms: %q\nat deadlines: %q", full.got, lazyGot)
	}
	if s, _ := lazy.State(); s != Acquiring {
		t.Fatalf("state %s", s)
	}
}

// Params left zero get the documented defaults: a dead count of 3 and a
// 1 s interval (so a 3 s timeout), Test asked again every 30 s, 30 s for
// a goodbye's address to stop answering.
func TestParamsDefaults(t *testing.T) {
	m := New(Params{Links: []string{"priv0", "pub0"}}, t0, false)
	if got := m.timeout(); got != 3*time.Second {
		t.Errorf("timeout %v, want 3s", got)
	}
	if m.p.VetoRetry != 30*time.Second || m.p.GoodbyeWait != 30*time.Second || m.p.AskWait != 2*time.Millisecond {
		t.Errorf("veto retry %v, goodbye wait %v, ask wait %v; want 30s, 30s, 2ms", m.p.VetoRetry, m.p.GoodbyeWait, m.p.AskWait)
	}
}

// A job's end that is not the running job's (a late one, or another
// job's) changes nothing: the takeover under way stays under way.
func TestOtherJobsEndIsIgnored(t *testing.T) {
	tl := newTimeline(t, params(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(GiveBack, false, nil)
	tl.expect(Acquiring)
	if tl.m.hold.running != Takeover {
		t.Fatalf("running %q after another job's end, want the takeover", tl.m.hold.running)
	}
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
}

// giveBackNotice completes the give-back that runs and returns its
// notice's detail.
func (tl *timeline) giveBackNotice() string {
	tl.t.Helper()
	for _, a := range tl.handle(JobDone{At: tl.now, Job: GiveBack}) {
		if n, ok := a.(Notice); ok && n.Kind == notice.GiveBack {
			return n.Detail
		}
	}
	tl.t.Fatalf("at +%v: no give-back notice", tl.now.Sub(t0))
	return ""
}

// The give-back notice says the addresses went back to the primary when
// its heartbeats are heard; given back by the operator while it is
// silent, it says so, and packets refused long before (more than a
// timeout) are not told as what it does now.
func TestGiveBackNoticeSaysWhetherThePrimaryIsHeard(t *testing.T) {
	tl := newTimeline(t, params(), true)
	tl.run(20*time.Second, "priv0", "pub0")
	tl.expect(Releasing, "start giveback")
	if d := tl.giveBackNotice(); d != "gave the addresses back to the primary" {
		t.Errorf("give-back with the primary heard: %q", d)
	}

	tl = newTimeline(t, params(), false)
	tl.run(5*time.Second, "priv0", "pub0")
	tl.do(Refused{At: tl.now.Add(50 * time.Millisecond), Link: "priv0", Why: "bad tag", Auth: true}) // after the last heartbeat
	tl.run(4 * time.Second)
	tl.expect(Acquiring, "start takeover")
	tl.done(Takeover, false, nil)
	tl.expect(Active, "notice takeover")
	tl.run(10 * time.Second)
	tl.cmd(OpRelease)
	tl.expect(Releasing, "start giveback")
	if d := tl.giveBackNotice(); !strings.HasPrefix(d, "gave the addresses back while the primary is silent: no heartbeat ") {
		t.Errorf("give-back with the primary silent for 14 s (a packet refused 14 s ago): %q", d)
	}
}
