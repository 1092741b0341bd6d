package sim

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/failoverd"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/heartbeatd"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// running is one run of a daemon.
type running struct {
	pr     *proc
	cancel context.CancelFunc
	done   chan struct{}
	// after runs once the daemon has stopped (failoverd's replay memory).
	after func()
	// ctx ends when the run does; handle takes an operator's request
	// (failoverd's control socket), nil for heartbeatd.
	ctx    context.Context
	handle func(context.Context, control.Request) control.Response
}

// stop ends the run: killed (nothing more leaves the process, no
// goodbye, no give-back) or a planned stop.
func (r *running) stop(w *World, kill bool) {
	w.mu.Lock()
	if kill {
		r.pr.dead = true
	}
	close(r.pr.gone) // a stopped process is continued to end; a killed one ends
	w.mu.Unlock()
	r.cancel()
	<-r.done
	w.mu.Lock()
	r.pr.dead = true
	w.mu.Unlock()
	if r.after != nil {
		r.after()
	}
}

// bind opens a socket on any of the host's addresses.
func (w *World) bind(pr *proc, port uint16, put func(b []byte, ifindex int, from netip.AddrPort)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pr.host.socks = append(pr.host.socks, &sock{proc: pr, port: port, put: put})
}

func (w *World) startHeartbeatd(ctx context.Context, c *config.Config) (*running, error) {
	pr := newProc(w.p)
	w.mu.Lock()
	w.hbProc = pr
	w.mu.Unlock()
	log := w.tl.logger("heartbeatd")
	ifs := func() ([]netif.Interface, error) { return w.p.interfaces(), nil }
	snd, err := heartbeat.New(heartbeatd.Options(c), udpConn{pr}, ifs, log)
	if err != nil {
		return nil, err
	}
	snd.UseGoTimers()
	tick := neighbor.NewTicklerWith(log, announcer{pr}, neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
	listen := func(ctx context.Context, addr netip.Addr, keys func() *wire.Keyring, on heartbeat.FromSecondary) <-chan struct{} {
		done := make(chan struct{})
		conn := w.listenUDP(pr, netip.AddrPortFrom(addr, c.Port))
		l := heartbeat.NewReleasedListener(conn, log)
		go func() {
			defer close(done)
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			_ = l.Run(ctx, keys, on)
		}()
		return done
	}
	deps := heartbeatd.Deps{Sender: snd, Announcer: tick, Listen: listen, Interfaces: ifs, Log: log}
	closeSvc := func() {}
	if len(c.ServiceIPs) > 0 {
		// Service-address mode: heartbeatd holds svcIP on the primary's
		// public link while its checks pass, once nobody else answers.
		p := c.ServiceIPs[0]
		mover := &takeover.Mover{Manager: manager{w.p, pr}, Announcer: announcer{pr},
			Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing), Log: log}
		ask := w.newAsker(pr, p.Addr)
		deps.Service = heartbeatd.NewService(c, []takeover.Address{{Interface: p.Interface, Prefix: p.Prefix()}}, mover, ask,
			func(a takeover.Address, detail string) {
				w.mu.Lock()
				defer w.mu.Unlock()
				if !pr.dead {
					w.tl.add("heartbeatd notice conflict %s: %s", a, detail)
				}
			}, log)
		closeSvc = func() {
			mover.Wait()
			ask.Close()
		}
	}
	d := heartbeatd.New(c, deps)
	d.Checks = heartbeatd.NewChecker(c, config.CheckTargets(c, w.p.interfaces()), checkRunner{w, pr}, log, d)
	ctx, cancel := context.WithCancel(ctx)
	r := &running{pr: pr, cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	for _, t := range d.Tasks() {
		wg.Go(func() { _ = t.Run(ctx) })
	}
	wg.Go(func() { d.Started(ctx) })
	go func() {
		wg.Wait()
		tick.Close()
		closeSvc()
		close(r.done)
	}()
	return r, nil
}

// checkRunner runs heartbeatd's service checks: one Check hook per
// address, a few milliseconds long, failing while the scenario says the
// service fails.
type checkRunner struct {
	w  *World
	pr *proc
}

func (h checkRunner) Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error) {
	w := h.w
	w.mu.Lock()
	if h.pr.dead {
		w.mu.Unlock()
		return nil, errGone
	}
	exit := 0
	if w.checksFail > 0 {
		exit = 1
	}
	took := time.Duration(w.checkRNG.Int64N(int64(5 * time.Millisecond)))
	w.mu.Unlock()
	return runFor(ctx, stage, exit, took), nil
}

// runFor is one hook of stage that takes took (less if ctx ends first)
// and exits exit.
func runFor(ctx context.Context, stage hooks.Stage, exit int, took time.Duration) []hooks.Result {
	start := time.Now()
	select {
	case <-time.After(took):
	case <-ctx.Done():
	}
	return []hooks.Result{{Stage: stage, Name: string(stage) + "10.sim", Exit: exit, Started: start, Duration: time.Since(start)}}
}

func (w *World) startFailoverd(ctx context.Context, c *config.Config) *running {
	pr := newProc(w.s)
	log := w.tl.logger("failoverd")
	links := []string{linkPriv, linkPub}
	addrs := []takeover.Address{{Interface: c.Pairs[0].Interface, Prefix: c.Pairs[0].Prefix()}}
	ifs := w.s.interfaces()
	snapshot := func() ([]netif.Interface, error) { return w.s.interfaces(), nil }
	keys := func() *wire.Keyring { return c.Keyring() }
	inbox := monitor.NewInbox()
	w.bind(pr, c.Port, func(b []byte, ifindex int, from netip.AddrPort) {
		inbox.Put(monitor.Datagram{B: b, IfIndex: ifindex, From: from.Addr()})
	})
	w.mu.Lock()
	replay := w.replay
	w.inbox = inbox
	w.mu.Unlock()
	mon := monitor.Fed(monitor.Config{Port: c.Port, Links: links, Peers: []netip.Addr{c.PeerIP, w.addr},
		PeerNets: failoverd.PublicSubnets(ifs, addrs), Keyring: keys, Freshness: c.ReplayWindow, Replay: replay,
		Snapshot: snapshot}, log, inbox)
	mgr := manager{w.s, pr}
	mover := &takeover.Mover{Manager: mgr, Announcer: announcer{pr}, Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing),
		Refresh: c.AnnounceRefresh, Log: log}
	held, _ := mgr.Held(ctx, addrs)
	ask := w.newAsker(pr, c.PeerIP, w.addr)
	w.mu.Lock()
	w.sAsker = ask
	w.sProc = pr
	w.mu.Unlock()
	d := failoverd.New(failoverd.Config{Node: "secondary", Peer: c.PeerIP, Addresses: addrs, Held: held, Keys: keys,
		Machine: failoverd.MachineParams(c, links), StopTimeout: time.Minute, Reconcile: c.ReconcileInterval, OnLink: failoverd.OnLink(ifs)},
		failoverd.Deps{Source: mon, Mover: mover, Hooks: hookRunner{w, pr}, Notifier: notifier{w, pr}, Asker: ask,
			Released: releaser{w: w, pr: pr, to: netip.AddrPortFrom(c.PeerIP, c.Port), keys: keys},
			Carrier:  w.carrierWatch(pr), Clock: clock{w, pr}, Log: log, Observer: observer{w}})
	ctx, cancel := context.WithCancel(ctx)
	r := &running{pr: pr, cancel: cancel, done: make(chan struct{}), ctx: ctx, handle: d.Handle}
	go func() {
		defer close(r.done)
		_ = d.Run(ctx)
		mover.Wait()
		ask.Close()
		inbox.Close()
	}()
	r.after = func() {
		recs, _, _ := mon.ReplayMemory()
		w.mu.Lock()
		w.replay = recs
		w.mu.Unlock()
	}
	return r
}

// hookRunner runs failoverd's hooks: each stage is one hook that takes a
// few milliseconds; Test fails while the scenario vetoes.
type hookRunner struct {
	w  *World
	pr *proc
}

func (h hookRunner) Run(ctx context.Context, stage hooks.Stage, env hooks.Env) ([]hooks.Result, error) {
	w := h.w
	w.mu.Lock()
	if h.pr.dead {
		w.mu.Unlock()
		return nil, errGone
	}
	exit := 0
	if stage == hooks.Test && w.vetoes > 0 {
		exit = 1
	}
	took := time.Duration(w.hookRNG.Int64N(int64(20 * time.Millisecond)))
	w.tl.add("hook %s %s starts (%s)", stage, env.Address, env.Reason)
	w.check.hookLocked(stage, exit, false, env.Reason)
	w.mu.Unlock()
	res := runFor(ctx, stage, exit, took)
	w.mu.Lock()
	w.tl.add("hook %s %s exits %d", stage, env.Address, exit)
	w.check.hookLocked(stage, exit, true, env.Reason)
	w.mu.Unlock()
	return res, nil
}

// notifier records failoverd's notices.
type notifier struct {
	w  *World
	pr *proc
}

func (n notifier) Notify(e notify.Notice) {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	if n.pr.dead {
		return // a killed process tells nobody
	}
	n.w.tl.add("notice %s: %s", e.Kind, e.Detail)
	n.w.check.noticeLocked(e.Kind)
}

// releaser sends failoverd's messages to the primary.
type releaser struct {
	w    *World
	pr   *proc
	to   netip.AddrPort
	keys func() *wire.Keyring
}

func (r releaser) Send(b []byte) error {
	if p, err := r.keys().Open(b); err == nil {
		r.w.mu.Lock()
		r.w.tl.add("failoverd sends %s", p.Type)
		if p.Type == wire.Released {
			r.w.check.releasedLocked()
		}
		r.w.mu.Unlock()
	}
	r.w.sendUDP(r.pr, b, r.to, 0, netip.Addr{})
	return nil
}

// observer puts what failoverd observes on the timeline.
type observer struct{ w *World }

func (o observer) add(format string, args ...any) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add(format, args...)
}

func (o observer) Started(s failover.State, _ time.Time) { o.add("failoverd starts %s", s) }
func (o observer) Transition(from, to failover.State, _ time.Time) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add("failoverd %s -> %s", from, to)
	o.w.check.transitionLocked(from, to)
}
func (o observer) JobStarted(j failover.Job, reason string, _ time.Time) {
	o.add("failoverd job %v: %s", j, reason)
}
func (o observer) Moved(j failover.Job, _ time.Time) { o.add("failoverd job %v moved", j) }
func (o observer) JobEnded(d failover.JobDone, _ []hooks.Result) {
	o.add("failoverd job ended %+v", d)
}
func (o observer) Notice(notice.Kind, string, time.Time) {}
func (o observer) Command(op failover.Op, force bool, _ time.Time, outcome string) {
	o.add("operator %v force=%v: %s", op, force, outcome)
}
func (o observer) ProbeRound(on bool, how failover.ProbeOutcome, detail string, _ time.Time) {
	o.add("failoverd probe round on=%v %v %s", on, how, detail)
}
func (o observer) Carrier(link string, up bool, _ time.Time) {
	o.add("failoverd carrier %s %v", link, up)
}

var _ net.PacketConn = (*packetConn)(nil)
