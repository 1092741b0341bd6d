package sim

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
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
	"github.com/ipfailover/ipfailover/internal/standby"
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
	deps := heartbeatd.Deps{Sender: snd, Announcer: tick, Listen: listen, Interfaces: ifs, Log: log,
		Arbiter: w.arbiterClient(pr, c, "primary", log)}
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

func (w *World) startFailoverd(ctx context.Context, n *node) *running {
	c := n.cfg
	pr := newProc(n.h)
	log := w.tl.logger("failoverd " + n.name)
	links := []string{linkPriv, linkPub}
	addrs := []takeover.Address{{Interface: c.Pairs[0].Interface, Prefix: c.Pairs[0].Prefix()}}
	ifs := n.h.interfaces()
	snapshot := func() ([]netif.Interface, error) { return n.h.interfaces(), nil }
	keys := func() *wire.Keyring { return c.Keyring() }
	inbox := monitor.NewInbox()
	w.bind(pr, c.Port, func(b []byte, ifindex int, from netip.AddrPort) {
		inbox.Put(monitor.Datagram{B: b, IfIndex: ifindex, From: from.Addr()})
	})
	var taken []netip.Addr
	for _, a := range addrs {
		taken = append(taken, a.Addr())
	}
	sb := w.newStandbys(pr, n, standby.Config{Port: c.StandbyPort, Links: links, Name: c.NodeName, Addresses: standby.Fingerprint(taken),
		Keys: keys, Freshness: c.ReplayWindow}, log)
	w.mu.Lock()
	replay := n.replay
	n.inbox = inbox
	w.mu.Unlock()
	mon := monitor.Fed(monitor.Config{Port: c.Port, Links: links, Peers: []netip.Addr{c.PeerIP, w.addr},
		PeerNets: failoverd.PublicSubnets(ifs, addrs), Keyring: keys, Freshness: c.ReplayWindow, Replay: replay,
		Snapshot: snapshot}, log, inbox)
	mgr := manager{n.h, pr}
	mover := &takeover.Mover{Manager: mgr, Announcer: announcer{pr}, Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing),
		Refresh: c.AnnounceRefresh, Log: log}
	held, _ := mgr.Held(ctx, addrs)
	ask := w.newAsker(pr, c.PeerIP, w.addr)
	w.mu.Lock()
	n.asker = ask
	n.proc = pr
	w.mu.Unlock()
	d := failoverd.New(failoverd.Config{Node: c.NodeName, Peer: c.PeerIP, Addresses: addrs, Held: held, Keys: keys,
		Machine: failoverd.MachineParams(c, links), StopTimeout: time.Minute, Reconcile: c.ReconcileInterval, OnLink: failoverd.OnLink(ifs),
		Priority: c.Priority, ArbiterKeep: c.ArbiterLost == "keep"},
		failoverd.Deps{Source: mon, Mover: mover, Hooks: hookRunner{w, n, pr}, Notifier: notifier{w, n, pr}, Asker: ask,
			Released: releaser{w: w, n: n, pr: pr, to: netip.AddrPortFrom(c.PeerIP, c.Port), keys: keys},
			Carrier:  w.carrierWatch(pr), Clock: clock{w, n, pr}, Log: log, Observer: observer{w, n}, Standbys: sb,
			Arbiter: w.arbiterClient(pr, c, "standby "+strconv.Itoa(c.Priority), log)})
	ctx, cancel := context.WithCancel(ctx)
	r := &running{pr: pr, cancel: cancel, done: make(chan struct{}), ctx: ctx, handle: d.Handle}
	go func() {
		defer close(r.done)
		_ = d.Run(ctx)
		mover.Wait()
		ask.Close()
		inbox.Close()
		sb.q.close()
	}()
	r.after = func() {
		recs, _, _ := mon.ReplayMemory()
		w.mu.Lock()
		n.replay = recs
		w.mu.Unlock()
	}
	return r
}

// standbys carries a failoverd's announcements on the simulated links
// (failoverd.Standbys): the real standby.Conn (Fed) numbers and seals
// each and decides on each that arrives; the world broadcasts them on
// the standby port of each link, under the faults the heartbeats meet,
// and the attacker records them.
type standbys struct {
	w     *World
	n     *node
	pr    *proc
	conn  *standby.Conn
	q     *queue[datagram]
	addrs string // the fingerprint its announcements carry
}

func (w *World) newStandbys(pr *proc, n *node, cfg standby.Config, log *slog.Logger) *standbys {
	s := &standbys{w: w, n: n, pr: pr, conn: standby.Fed(cfg, log), q: newQueue[datagram](), addrs: cfg.Addresses}
	w.bind(pr, cfg.Port, func(b []byte, ifindex int, from netip.AddrPort) {
		s.q.put(datagram{b: b, from: from, ifindex: ifindex})
	})
	return s
}

// Announce sends self to the broadcast address of each link: a frozen
// process sends when it thaws.
func (s *standbys) Announce(self standby.Self, interval time.Duration, now time.Time) (int, error) {
	s.pr.pass(&s.pr.frozen)
	b, err := s.conn.Sealed(self, interval, now)
	if err != nil {
		return 0, err
	}
	w := s.w
	w.mu.Lock()
	if !s.pr.dead {
		if self != s.n.said {
			told := self
			told.Addresses = s.addrs
			w.tl.add("%s announces %s", s.n.name, told.Message())
		}
		if !self.Holding {
			s.n.holdingSince = time.Time{}
		} else if s.n.holdingSince.IsZero() {
			s.n.holdingSince = time.Now()
		}
		if !self.Eligible {
			s.n.eligibleSince = time.Time{}
		} else if s.n.eligibleSince.IsZero() {
			s.n.eligibleSince = time.Now()
		}
		s.n.said, s.n.peerInterval = self, interval
	}
	var ports []*port
	for _, l := range []string{linkPriv, linkPub} {
		ports = append(ports, s.pr.host.port(l))
	}
	w.mu.Unlock()
	for _, p := range ports {
		w.sendUDP(s.pr, b, netip.AddrPortFrom(netif.BroadcastOf(p.link.subnet), sbPort), p.index, netip.Addr{})
	}
	return len(ports), nil
}

// Run hands each announcement that arrives, once the real acceptance
// took it, to deliver, until ctx ends; a frozen process reads none.
func (s *standbys) Run(ctx context.Context, deliver func(standby.Peer)) error {
	stop := context.AfterFunc(ctx, func() { s.q.put(datagram{}) })
	defer stop()
	w := s.w
	for {
		for _, d := range s.q.takeAll() {
			if d.b == nil {
				continue // a wake-up
			}
			s.pr.pass(&s.pr.frozen)
			if ctx.Err() != nil {
				return nil
			}
			w.mu.Lock()
			link := ""
			if p := s.pr.host.portIndex(d.ifindex); p != nil {
				link = p.name
			}
			w.mu.Unlock()
			p, ok := s.conn.Accept(d.b, link, d.from.Addr(), time.Now())
			if !ok {
				continue
			}
			w.mu.Lock()
			if !s.pr.dead {
				w.check.takingLocked(s.n, p)
			}
			w.mu.Unlock()
			deliver(p)
			w.mu.Lock()
			if !s.pr.dead {
				w.check.heardLocked(s.n, p)
			}
			w.mu.Unlock()
		}
		if ctx.Err() != nil || s.q.isClosed() {
			return nil
		}
		<-s.q.wake
	}
}

func (s *standbys) Stats() standby.Stats { return s.conn.Stats() }

// hookRunner runs failoverd's hooks: each stage is one hook that takes a
// few milliseconds; Test fails while the scenario vetoes.
type hookRunner struct {
	w  *World
	n  *node
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
	if stage == hooks.Test && h.n.vetoes > 0 {
		exit = 1
	}
	took := time.Duration(h.n.hooks.Int64N(int64(20 * time.Millisecond)))
	w.tl.add("%s hook %s %s starts (%s)", h.n.name, stage, env.Address, env.Reason)
	w.check.hookLocked(h.n, stage, exit, false, env.Reason)
	w.mu.Unlock()
	res := runFor(ctx, stage, exit, took)
	w.mu.Lock()
	w.tl.add("%s hook %s %s exits %d", h.n.name, stage, env.Address, exit)
	w.check.hookLocked(h.n, stage, exit, true, env.Reason)
	w.mu.Unlock()
	return res, nil
}

// notifier records failoverd's notices.
type notifier struct {
	w  *World
	n  *node
	pr *proc
}

func (n notifier) Notify(e notify.Notice) {
	n.w.mu.Lock()
	defer n.w.mu.Unlock()
	if n.pr.dead {
		return // a killed process tells nobody
	}
	n.w.tl.add("%s notice %s: %s", n.n.name, e.Kind, e.Detail)
	n.w.check.noticeLocked(n.n, e.Kind, e.Detail)
}

// releaser sends failoverd's messages to the primary.
type releaser struct {
	w    *World
	n    *node
	pr   *proc
	to   netip.AddrPort
	keys func() *wire.Keyring
}

func (r releaser) Send(b []byte) error {
	if p, err := r.keys().Open(b); err == nil {
		r.w.mu.Lock()
		r.w.tl.add("%s sends %s", r.n.name, p.Type)
		if p.Type == wire.Released {
			r.w.check.releasedLocked(r.n)
		}
		r.w.mu.Unlock()
	}
	r.w.sendUDP(r.pr, b, r.to, 0, netip.Addr{})
	return nil
}

// observer puts what a failoverd observes on the timeline.
type observer struct {
	w *World
	n *node
}

func (o observer) add(format string, args ...any) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add(o.n.name+" "+format, args...)
}

func (o observer) Started(s failover.State, _ time.Time) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add("%s starts %s", o.n.name, s)
	o.n.state = s
}
func (o observer) Transition(from, to failover.State, _ time.Time) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add("%s %s -> %s", o.n.name, from, to)
	o.w.check.transitionLocked(o.n, from, to)
}
func (o observer) JobStarted(j failover.Job, reason string, _ time.Time) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.tl.add("%s job %v: %s", o.n.name, j, reason)
	o.w.check.jobLocked(o.n, j, reason)
}
func (o observer) Moved(j failover.Job, _ time.Time) { o.add("job %v moved", j) }
func (o observer) JobEnded(d failover.JobDone, _ []hooks.Result) {
	o.add("job ended %+v", d)
}
func (o observer) Notice(notice.Kind, string, time.Time) {}
func (o observer) Command(op failover.Op, force bool, _ time.Time, outcome string) {
	o.add("operator %v force=%v: %s", op, force, outcome)
}
func (o observer) ProbeRound(on bool, how failover.ProbeOutcome, detail string, _ time.Time) {
	o.add("probe round on=%v %v %s", on, how, detail)
}
func (o observer) Carrier(link string, up bool, _ time.Time) {
	o.add("carrier %s %v", link, up)
}

var _ net.PacketConn = (*packetConn)(nil)
