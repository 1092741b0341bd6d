package failoverd

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Source delivers the primary's accepted packets and counts the rest
// (monitor.Monitor).
type Source interface {
	// Run calls deliver with the packets accepted at one wakeup until
	// ctx ends; deliver may be called from more than one goroutine and
	// does not keep the slice.
	Run(ctx context.Context, deliver func([]monitor.Heard)) error
	// Drain delivers, at once, what has arrived but not been read: it is
	// called before a link is counted silent.
	Drain(deliver func([]monitor.Heard))
	Stats() map[string]monitor.LinkStats
	// OldRuns receives, once per run, a heartbeat of a run of the
	// primary that a newer one replaced and that still sends.
	OldRuns() <-chan monitor.OldRun
}

// Mover adds, announces and removes the addresses (takeover.Mover).
type Mover interface {
	TakeAll(ctx context.Context, as []takeover.Address) []error
	Give(ctx context.Context, a takeover.Address) error
	Holding() []takeover.Address
	Adopt(as ...takeover.Address)
	// Keep restores held addresses that vanished, every period, until
	// ctx ends.
	Keep(ctx context.Context, period time.Duration)
}

// HookRunner runs one stage's hooks for one address (hooks.Runner).
type HookRunner interface {
	Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error)
}

// Notifier delivers notices without blocking (notify.Async).
type Notifier interface{ Notify(e notify.Notice) }

// Watchdog is told that the loop is alive (systemd's watchdog); it is
// called from several goroutines.
type Watchdog interface{ Alive(now time.Time) }

// Clock tells the time and makes the deadline timer.
type Clock interface {
	Now() time.Time
	NewTimer(first time.Duration) fdtimer.Timer
}

var (
	_ Source     = (*monitor.Monitor)(nil)
	_ Mover      = (*takeover.Mover)(nil)
	_ HookRunner = (*hooks.Runner)(nil)
	_ Notifier   = (*notify.Async)(nil)
)

// SystemClock is the wall clock with a timerfd deadline timer.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) NewTimer(first time.Duration) fdtimer.Timer { return fdtimer.New(first, 0) }

// Config is what the runtime needs to know.
type Config struct {
	Node      string     // this host's name, in notices and status
	Peer      netip.Addr // the primary's private address
	Addresses []takeover.Address
	Machine   failover.Params
	// Held are the addresses this host held at start, left by an earlier
	// run: kept, with no hooks run again.
	Held []takeover.Address
	// Keys returns the keys in force (they change on reload); `released`
	// is sealed with them.
	Keys func() *wire.Keyring
	// StopTimeout bounds the give-back on a clean stop, hooks included.
	StopTimeout time.Duration
	// Reconcile is how often held addresses are checked; zero: never.
	Reconcile time.Duration
	// OnLink says whether addr is in a subnet of link's interface: only
	// such an address answers ARP there, so only it is probed. Nil: any.
	OnLink func(link string, addr netip.Addr) bool
	// Priority orders this host among the standbys of its primary
	// (FAILOVER_PRIORITY; standby.go).
	Priority int
	// ArbiterKeep: FAILOVER_ARBITER_LOST=keep.
	ArbiterKeep bool
}

// Deps are the runtime's collaborators. Watchdog, Clock and Log may be nil.
type Deps struct {
	Source   Source
	Mover    Mover
	Hooks    HookRunner
	Notifier Notifier
	Released Releaser
	Asker    Asker // nil: nothing is asked, silence alone decides
	// Carrier watches the links' carrier; nil: not watched.
	Carrier  CarrierWatch
	Clock    Clock
	Watchdog Watchdog
	Log      *slog.Logger
	// Observer is told what happens (the metrics); nil: nobody but the
	// event history.
	Observer Observer
	// Interfaces lists the host's interfaces, to look for the links'
	// ones; nil: not looked for.
	Interfaces Interfaces
	// Standbys announces this host to the other standbys and hears
	// theirs; nil: this host acts as the only one.
	Standbys Standbys
	// Arbiter is the quorum (FAILOVER_ARBITER); nil: none.
	Arbiter Arbiter
}

// Daemon is failoverd at work.
type Daemon struct {
	cfg Config
	Deps
	log *slog.Logger

	// mu owns the machine and everything the loop decides with; the
	// methods named …Locked are called with it held.
	mu       sync.Mutex
	machine  *failover.Machine
	timer    fdtimer.Timer
	armedFor time.Time // when the timer fires next; zero: not armed
	// deadline and peerInterval: when the machine wants a tick, and the
	// primary's interval, as it last said (failover.Deadline).
	deadline     time.Time
	peerInterval time.Duration
	stopping     bool // no new job starts
	waiters      []chan control.Response
	stages       map[stageKey]control.Stage // the last run of each stage per address
	askWake      chan struct{}              // the machine wants questions
	askEvery     time.Duration              // how often it wanted them, as last told
	asking       atomic.Bool                // askEvery > 0, for the tick goroutine without d.mu
	// targets: the address the primary's heartbeats come from, per
	// link, which probes ask for; takes: the addresses to take, with
	// the interface each is taken on.
	targets map[string]netip.Addr
	froms   map[string]netip.Addr // the sender last heard per link, probed or not
	takes   map[netip.Addr]string
	// questions ask who answers for the addresses to take.
	questions []neighbor.Question
	// The asks goroutine's own: the probe addresses the Asker hears
	// answers for, and when a probe trouble was last logged.
	watched     map[netip.Addr]bool
	probeWarned time.Time
	probeOn     atomic.Bool // a round of probes is on, as the machine last said; read by the tick and asks goroutines without d.mu
	probeLinks  []string    // the links to probe at each question, as the machine last said (failover.Probe)
	hearing     atomic.Bool // the Asker's Run listens for answers

	jobs       sync.WaitGroup
	running    int             // jobs started and not done; d.mu
	jobCtx     context.Context // jobs run to their end, also when failoverd stops
	cancelJobs context.CancelFunc

	history *recorder // the event history, an observer
	obs     observers // the history and Deps.Observer

	sendMu sync.Mutex // what goes to the primary: the sequence, and the primary's epoch it names
	seq    uint64
	epoch  uint64
	// primaryEpoch is the epoch of the primary's latest accepted
	// heartbeat (primaryKnown: one was heard in this run).
	primaryEpoch uint64
	primaryKnown bool
	lastHolding  time.Time // when `holding` was last sent; d.mu

	started time.Time               // when New ran: the start's grace counts from it
	missing map[string]*missingLink // the links whose interface does not exist; d.mu
	// authSeen: when each kind of mismatch with the keys here was last
	// seen, and how long it is quiet; authTold: when one was last told;
	// authRefused: when packets from the primary's addresses began to be
	// refused with no heartbeat since (auth.go); d.mu.
	authSeen              map[authKind]*authSeen
	authTold, authRefused time.Time

	sb   standbyState   // the other standbys (standbys.go); d.mu
	arb  arbiterState   // the arbiter (arbiter.go); d.mu
	told failover.Yield // the yield last told to the machine, At zero; d.mu
	// standing is what the metrics read of this host among the standbys,
	// published as it changes (standbys.go).
	standing atomic.Pointer[Standing]
}

type stageKey struct {
	stage hooks.Stage
	addr  takeover.Address
}

// New builds the runtime. It adopts cfg.Held; the machine starts active
// if the host holds any address, and completes or gives back a partial
// takeover by the machine's rules.
func New(cfg Config, deps Deps) *Daemon {
	if deps.Clock == nil {
		deps.Clock = SystemClock{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Keys == nil {
		cfg.Keys = func() *wire.Keyring { return wire.NewKeyring() }
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 5 * time.Minute
	}
	cfg.Machine.Ask = deps.Asker != nil
	cfg.Machine.Confirm = cfg.Machine.Confirm && deps.Asker != nil
	d := &Daemon{cfg: cfg, Deps: deps, log: deps.Log, stages: map[stageKey]control.Stage{}, askWake: make(chan struct{}, 1),
		targets: map[string]netip.Addr{}, froms: map[string]netip.Addr{}, takes: map[netip.Addr]string{}, watched: map[netip.Addr]bool{},
		questions: takeover.Questions(cfg.Addresses), started: deps.Clock.Now(), missing: map[string]*missingLink{},
		sb:  standbyState{table: standby.NewTable(), ties: map[string]bool{}, poke: make(chan struct{}, 1)},
		arb: arbiterState{keepWhenDown: cfg.ArbiterKeep, added: make(chan struct{}, 1)}}
	d.cfg.Machine.AddrLinks = slices.Clone(cfg.Machine.AddrLinks) // not the caller's array
	for _, a := range cfg.Addresses {
		d.takes[a.Addr()] = a.Interface
		if !slices.Contains(d.cfg.Machine.AddrLinks, a.Interface) {
			d.cfg.Machine.AddrLinks = append(d.cfg.Machine.AddrLinks, a.Interface)
		}
	}
	if len(cfg.Machine.Links) != 0 {
		// The private link, before it is heard (an invalid Peer is
		// learnt as nothing).
		d.learnTargetLocked(cfg.Machine.Links[0], cfg.Peer)
	}
	var epoch [8]byte
	_, _ = rand.Read(epoch[:])
	d.epoch = binary.BigEndian.Uint64(epoch[:])
	d.Mover.Adopt(cfg.Held...)
	d.machine = failover.New(d.cfg.Machine, d.Clock.Now(), len(cfg.Held) > 0)
	d.history = newRecorder(history.DefaultSize)
	d.obs = observers{d.history}
	if deps.Observer != nil {
		d.obs = append(d.obs, deps.Observer)
	}
	ms := d.machine.Status(d.Clock.Now())
	d.obs.Started(ms.State, ms.Since)
	if held := len(cfg.Held); held != 0 && held < len(cfg.Addresses) {
		d.machine.Incomplete() // some held, not all
	}
	// Ready before Run: the control socket may bring a request first.
	d.jobCtx, d.cancelJobs = context.WithCancel(context.Background())
	d.timer = d.Clock.NewTimer(maxSleep)
	d.armedFor = d.Clock.Now().Add(maxSleep)
	// A tick at the start instant decides nothing (no grace has run);
	// it has the machine say its first deadline and pace of questions.
	d.applyLocked(failover.Tick{At: d.Clock.Now()}, nil)
	d.rearmLocked()
	return d
}

// State is the machine's state, for the start-up log.
func (d *Daemon) State() failover.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.machine.Status(d.Clock.Now()).State
}

// Run works until ctx ends or the source fails, then gives the addresses
// back if this host holds them (PreRel and PostRel run; Test does not:
// failoverd is going away either way) and tells the primary. Jobs under
// way finish first. The caller closes the notifier afterwards.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.cancelJobs()
	runCtx, stop := context.WithCancel(ctx)
	srcDone := make(chan error, 1)
	go func() { srcDone <- d.Source.Run(runCtx, d.heard) }()
	ticksDone := make(chan struct{})
	go func() { d.ticks(runCtx); close(ticksDone) }()
	askDone := make(chan struct{})
	go func() {
		defer close(askDone)
		if d.Asker == nil {
			return
		}
		heard := make(chan struct{})
		go func() {
			defer close(heard)
			// Without it every question would go unanswered and
			// anything would look free: it is started again.
			for runCtx.Err() == nil {
				d.hearing.Store(true)
				d.pokeStandbys() // it may take the addresses again
				err := d.Asker.Run(runCtx, d.answered)
				d.hearing.Store(false)
				d.pokeStandbys()
				if runCtx.Err() != nil {
					return
				}
				d.log.Error("cannot hear who answers for the addresses; listening again in a second", "err", err)
				select {
				case <-runCtx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
		d.asks(runCtx)
		<-heard
	}()
	carrierDone := make(chan struct{})
	go func() {
		if d.Carrier != nil {
			d.watchCarrier(runCtx)
		}
		close(carrierDone)
	}()
	dropsDone := make(chan struct{})
	go func() { d.summariseDrops(runCtx, dropsEvery); close(dropsDone) }()
	oldRunsDone := make(chan struct{})
	go func() { d.oldRuns(runCtx); close(oldRunsDone) }()
	ifacesDone := make(chan struct{})
	go func() {
		if d.Interfaces != nil {
			d.watchInterfaces(runCtx)
		}
		close(ifacesDone)
	}()
	// The arbiter's lease outlives the give-back on the way out: another
	// host may claim the keys the moment it is revoked.
	arbCtx, stopArbiter := context.WithCancel(context.Background())
	arbDone := make(chan struct{})
	go func() {
		if d.Arbiter != nil {
			if err := d.Arbiter.Run(arbCtx); err != nil {
				d.log.Error("the arbiter's client stopped", "err", err)
			}
		}
		close(arbDone)
	}()
	watchDone := make(chan struct{})
	go func() {
		if d.Arbiter != nil {
			d.watchArbiter(runCtx)
		}
		close(watchDone)
	}()
	standbysDone := make(chan struct{})
	go func() {
		if d.Standbys != nil {
			d.runStandbys(runCtx)
		}
		close(standbysDone)
	}()
	keepDone := make(chan struct{})
	go func() {
		if d.cfg.Reconcile > 0 {
			d.Mover.Keep(runCtx, d.cfg.Reconcile)
		}
		close(keepDone)
	}()

	var err error
	select {
	case err = <-srcDone:
		stop()
	case <-ctx.Done():
		stop()
		err = <-srcDone
	}
	<-ticksDone
	<-askDone
	<-carrierDone
	<-ifacesDone
	<-keepDone // nothing restores an address while it is given back
	<-dropsDone
	<-oldRunsDone
	<-standbysDone
	<-watchDone
	d.timer.Stop()
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.jobs.Wait()
	d.giveBackOnStop()
	stopArbiter()
	<-arbDone
	return err
}

// giveBackOnStop gives the addresses back when failoverd stops holding
// them.
func (d *Daemon) giveBackOnStop() {
	if len(d.Mover.Holding()) == 0 {
		return
	}
	d.log.Info("stopping while holding the addresses: giving them back")
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.StopTimeout)
	defer cancel()
	r := d.giveBack(ctx, "failoverd is stopping", false)
	detail := "failoverd stopped and gave the addresses back"
	if r.done.Err != nil {
		detail += ", with errors: " + r.done.Err.Error()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.noticeLocked(notice.GiveBack, detail, r.hooks)
}

// applyLocked hands one event to the machine and carries out its actions;
// jobHooks go with the notices that come of a job's end.
func (d *Daemon) applyLocked(ev failover.Event, jobHooks []hooks.Result) {
	for _, a := range d.machine.Handle(ev) {
		switch a := a.(type) {
		case failover.Moved:
			d.log.Info("state", "from", a.From, "to", a.To)
			d.obs.Transition(a.From, a.To, a.Since)
		case failover.Ask:
			d.askAtLocked(a.Every)
		case failover.Probe:
			d.probeLinks = a.Links
		case failover.Deadline:
			d.deadline, d.peerInterval = a.At, a.PeerInterval
		case failover.ProbeRound:
			d.probeOn.Store(a.On)
			now := d.Clock.Now()
			if a.On {
				d.log.Info("probing the primary's host: " + probeWhy)
				d.obs.ProbeRound(true, "", probeWhy, now)
			} else {
				d.log.Info("probing ended", "how", a.Ended)
				d.obs.ProbeRound(false, a.How, a.Ended, now)
			}
		case failover.StartJob:
			d.startJobLocked(a)
		case failover.Notice:
			if a.Kind.OfJob() {
				d.noticeLocked(a.Kind, a.Detail, jobHooks)
			} else {
				d.noticeLocked(a.Kind, a.Detail, nil)
			}
		}
	}
	d.pokeStandbysLocked() // its state, or a carrier, changed what it says of itself
}

// probeWhy is why a round of probes starts.
const probeWhy = "its heartbeats are late on every link, or a link lost its carrier"

// noticeLocked logs and sends one notice.
func (d *Daemon) noticeLocked(kind notice.Kind, detail string, hookResults []hooks.Result) {
	d.sendNoticeLocked(d.newNoticeLocked(kind, detail, hookResults))
}

// newNoticeLocked is a notice of kind, as of now.
func (d *Daemon) newNoticeLocked(kind notice.Kind, detail string, hookResults []hooks.Result) notify.Notice {
	return notify.Notice{Kind: kind, At: d.Clock.Now(), Node: d.cfg.Node, Peer: d.cfg.Peer.String(),
		Addresses: d.addrStrings(), Links: d.machine.Status(d.Clock.Now()).Links, Detail: detail, Hooks: hookResults}
}

// sendNoticeLocked logs and sends ev.
func (d *Daemon) sendNoticeLocked(ev notify.Notice) {
	level := slog.LevelWarn
	if ev.Kind == notice.AnomalyCleared || ev.Kind == notice.GiveBack || ev.Kind == notice.InterfaceBack {
		level = slog.LevelInfo
	}
	d.log.Log(context.Background(), level, "notice", "kind", ev.Kind, "detail", ev.Detail)
	d.obs.Notice(ev.Kind, ev.Detail, ev.At)
	d.Notifier.Notify(ev)
}

func (d *Daemon) addrStrings() []string {
	s := make([]string, len(d.cfg.Addresses))
	for i, a := range d.cfg.Addresses {
		s[i] = a.String()
	}
	return s
}
