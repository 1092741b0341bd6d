package failoverd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/netif/carrier"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Main runs failoverd with c until a stop signal, and returns its exit
// code: the command's whole life, on cli.Daemon.
func Main(inv *cli.Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int {
	sd := cli.NewNotifier(log)
	d, err := Open(c, log, sd)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.StartFailure(err)
	}
	// A stop while Run gives the addresses back; a second signal ends
	// the process at once.
	return cli.Daemon{Name: "failoverd", Log: log, Systemd: sd, Main: d.Run, Tasks: d.Tasks, Started: d.Started,
		Reload: func(context.Context) { d.Reload(inv.Reload(log, logs)) }, Close: d.Close,
	}.Serve()
}

// Opened is failoverd with everything it opened: the daemon, the tasks
// that run beside it, and what to close once they all ended.
type Opened struct {
	*Daemon
	Tasks []cli.Task
	keys  *atomic.Pointer[wire.Keyring]
	cfg   *config.Config
	log   *slog.Logger
	close []func()
	// started logs the start, once everything runs.
	started func()
}

// Open opens what failoverd needs for c: the heartbeat listener, the
// addresses, the asker, the hooks, the notices, the control socket, the
// metrics endpoint and the replay store. On error, what it opened is
// closed again.
func Open(c *config.Config, log *slog.Logger, watchdog Watchdog) (o *Opened, err error) {
	o = &Opened{keys: &atomic.Pointer[wire.Keyring]{}, cfg: c, log: log}
	defer func() {
		if err != nil {
			o.Close()
		}
	}()
	// First: a second failoverd must not listen for heartbeats, read the
	// state or touch an address. Closed last: the lock is held until
	// failoverd is done, after the control socket closed and the
	// addresses went back.
	ctl, err := control.Listen(c.ControlSocket)
	if err != nil {
		return o, fmt.Errorf("cannot open the control socket: %w", err)
	}
	o.onClose(func() { ctl.Close() })
	o.keys.Store(c.Keyring())
	peers := []netip.Addr{c.PeerIP}
	var addrs []takeover.Address
	for _, p := range c.Pairs {
		peers = append(peers, p.Addr)
		addrs = append(addrs, takeover.Address{Interface: p.Interface, Prefix: p.Prefix()})
	}
	ifs, err := netif.Snapshot()
	if err != nil {
		return o, fmt.Errorf("cannot list interfaces: %w", err)
	}
	links, err := Links(ifs, c.PeerIP, addrs)
	if err != nil {
		return o, err
	}

	// The runs of heartbeatd heard before a restart stay left behind.
	replay := OpenReplayStore(c.StateDir, log)
	mon, err := monitor.Listen(monitor.Config{Port: c.Port, Links: links, Peers: peers, PeerNets: PublicSubnets(ifs, addrs), Keyring: o.keys.Load,
		Freshness: c.ReplayWindow, Replay: replay.Load(), Legacy: c.Legacy, LegacyMessage: c.Message}, log)
	if err != nil {
		return o, fmt.Errorf("cannot listen for heartbeats: %w", err)
	}
	o.onClose(func() { mon.Close() })
	o.Tasks = append(o.Tasks, cli.Task{Name: "replay store", Run: func(ctx context.Context) error { replay.Keep(ctx, mon); return nil }})

	manager, err := takeover.NewManager()
	if err != nil {
		return o, fmt.Errorf("cannot manage addresses: %w", err)
	}
	mover := &takeover.Mover{Manager: manager, Announcer: neighbor.OpenAnnouncer(log, "taken addresses are announced by the system only, if at all"),
		Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing), Refresh: c.AnnounceRefresh, Log: log}
	o.onClose(func() {
		mover.Wait()
		if mover.Announcer != nil {
			mover.Announcer.Close()
		}
	})
	// Reconcile: addresses a crash left on the host are kept, with no
	// hooks run again; the machine gives them back if the primary is heard.
	held, err := manager.Held(context.Background(), addrs)
	if err != nil {
		return o, fmt.Errorf("cannot list the addresses this host holds: %w", err)
	}
	if len(held) > 0 {
		log.Warn("this host already holds public addresses (left by an earlier run); keeping them, no hooks run", "held", len(held), "of", len(addrs))
	}

	var hookRunner HookRunner = &hooks.Runner{Dir: c.HookDir, Timeout: c.HookTimeout, Log: log, RequireSafe: os.Geteuid() == 0}
	sinks := notify.Sinks(c.Sendmail, c.EmailRecipient, c.NotifyCommand)
	var observer Observer
	var met *Metrics
	endpoint, err := metrics.Open(c.MetricsListen(config.Failoverd), log)
	if err != nil {
		return o, fmt.Errorf("cannot serve metrics (%s): %w", config.KeyMetricsAddr, err)
	}
	if endpoint != nil {
		met = NewMetrics(endpoint.Registry, MetricsSources{Stats: mon.Stats, Holding: func() int { return len(mover.Holding()) }, Keys: o.keys.Load})
		hookRunner, sinks, observer = met.Hooks(hookRunner), met.Notifiers(sinks), met
		o.Tasks = append(o.Tasks, cli.Task{Name: "metrics endpoint", Run: endpoint.Run})
	}
	notifier := notify.NewAsync(log, sinks...)
	// Closed before the mover is waited for (closes run last first).
	o.onClose(func() { notifier.Close(10 * time.Second) })

	// Ask who answers for the addresses before taking them; where that
	// cannot work, silence alone decides, as in the original. The
	// primary's private address too: with FAILOVER_CONFIRM its host is
	// probed there (and at the address its public heartbeats come from,
	// heard later).
	var asker Asker
	var taken []netip.Addr // the addresses to take
	for _, a := range addrs {
		taken = append(taken, a.Addr())
	}
	ips := append([]netip.Addr{c.PeerIP}, taken...)
	if a := neighbor.OpenAsker(log, ips, manager.Interface); a != nil {
		o.onClose(func() { a.Close() })
		asker = a
	}

	// The other standbys of the primary, and this one to them.
	// The runs of the other standbys heard before a restart stay left
	// behind too: a recording of one that held the addresses must not
	// hold this one back.
	sbReplay := OpenStandbyReplayStore(c.StateDir, log)
	sb, err := standby.Listen(standby.Config{Port: c.StandbyPort, Links: links, Name: c.NodeName, Addresses: standby.Fingerprint(taken),
		Keys: o.keys.Load, Freshness: c.ReplayWindow, Replay: sbReplay.Load()}, log)
	if err != nil {
		return o, fmt.Errorf("cannot listen for the other standbys (%s): %w", config.KeyStandbyPort, err)
	}
	o.onClose(func() { sb.Close() })
	o.Tasks = append(o.Tasks, cli.Task{Name: "standby replay store", Run: func(ctx context.Context) error { sbReplay.Keep(ctx, sb); return nil }})

	var arb Arbiter // nil unless FAILOVER_ARBITER: not a nil *arbiter.Client
	if cl, closeArb, err := arbiter.Open(c, "standby "+strconv.Itoa(c.Priority), log); err != nil {
		return o, err
	} else if cl != nil {
		arb = cl
		o.onClose(closeArb)
	}

	o.Daemon = New(Config{
		Node: c.NodeName, Peer: c.PeerIP, Addresses: addrs, Held: held, Keys: o.keys.Load, Reconcile: c.ReconcileInterval,
		OnLink:      OnLink(ifs),
		Machine:     MachineParams(c, links),
		Priority:    c.Priority,
		ArbiterKeep: c.ArbiterLost == "keep",
	}, Deps{
		Standbys: sb,
		Arbiter:  arb,
		Source:   mon, Mover: mover, Notifier: notifier, Watchdog: watchdog, Log: log,
		Hooks:      hookRunner,
		Released:   UDPPeer{To: netip.AddrPortFrom(c.PeerIP, c.Port)},
		Asker:      asker,
		Carrier:    carrierWatch(log),
		Observer:   observer,
		Interfaces: netif.Names,
	})
	if met != nil {
		met.src.Heard = o.Daemon.Heard // read at scrapes, which start after Open
		met.src.Standing = o.Daemon.Standing
		if cl, ok := arb.(*arbiter.Client); ok {
			metrics.NewArbiter(endpoint.Registry, cl.Status, func() []string { return addrStrings(addrs) })
		}
	}
	o.Tasks = append(o.Tasks, cli.Task{Name: "control socket", Run: func(ctx context.Context) error { return control.Serve(ctx, ctl.UnixListener, o.Handle, log) }})
	o.started = func() {
		log.Info("failoverd started", "peer", c.PeerIP, "links", links, "addresses", addrs, "state", o.State(),
			"grace", c.InitialGrace, "hold_down", c.HoldDown, "auto_giveback", c.AutoGiveBack, "auth", wire.KeyIDs(c.Keyring().IDs()), "control", c.ControlSocket)
	}
	return o, nil
}

// MachineParams are the machine's parameters for c, with links (Links's).
func MachineParams(c *config.Config, links []string) failover.Params {
	return failover.Params{Links: links, DeadCount: c.DeadCount, Timeout: c.Timeout, DefaultInterval: config.DefaultSenderInterval(),
		InitialGrace: c.InitialGrace, HoldDown: c.HoldDown, AutoGiveBack: c.AutoGiveBack,
		AskWait: c.AskWait, GoodbyeWait: c.GoodbyeWait, ConflictTest: c.ConflictTest,
		Confirm: c.Confirm, Probes: c.ConfirmProbes, ProbeSpacing: c.ConfirmSpacing}
}

// Started says failoverd runs.
func (o *Opened) Started(context.Context) { o.started() }

func (o *Opened) onClose(f func()) { o.close = append(o.close, f) }

// Close closes what Open opened, last first; call it once Run and the
// tasks ended.
func (o *Opened) Close() {
	for _, f := range slices.Backward(o.close) {
		f()
	}
	o.close = nil
}

// Run runs the daemon until ctx ends (and it gave its addresses back).
func (o *Opened) Run(ctx context.Context) error {
	if err := o.Daemon.Run(ctx); err != nil {
		return fmt.Errorf("heartbeat listener failed: %w", err)
	}
	return nil
}

// Reload applies what can change while running, from nc (nil: a reload
// refused, nothing changes): keys and logging. The links, addresses and
// timing need a restart, and it says so.
func (o *Opened) Reload(nc *config.Config) {
	if nc == nil {
		return
	}
	o.keys.Store(nc.Keyring())
	if changed := config.Changed(o.cfg, nc, config.Failoverd, config.KeyAuthKeyFile, config.KeyLogFile, config.KeyLogFacility); len(changed) > 0 {
		o.log.Warn("configuration reloaded: keys and logging apply now; restart failoverd for the other changes", "changed", changed)
		return
	}
	o.log.Info("configuration reloaded")
}

// carrierWatch is the links' carrier watch, where this system has one.
func carrierWatch(log *slog.Logger) CarrierWatch {
	// Watched with or without confirmation: a question sent into a dark
	// link must not count as unanswered, and only the carrier tells.
	if runtime.GOOS != "linux" {
		log.Info("the links' carrier is not watched on this system: the timeout decides")
		return nil
	}
	return carrier.Watch
}

// OnLink says whether addr is in a subnet of the interface named link,
// as the interfaces were at start.
func OnLink(ifs []netif.Interface) func(link string, addr netip.Addr) bool {
	return func(link string, addr netip.Addr) bool {
		for _, it := range ifs {
			if it.Name != link {
				continue
			}
			for _, a := range it.Addrs {
				if a.Prefix.Masked().Contains(addr) {
					return true
				}
			}
		}
		return false
	}
}

// PublicSubnets are the subnets of the interfaces that carry the public
// addresses: a primary that holds service addresses sends its public
// heartbeats from its own address there.
func PublicSubnets(ifs []netif.Interface, addrs []takeover.Address) []netip.Prefix {
	var out []netip.Prefix
	for _, it := range ifs {
		if !slices.ContainsFunc(addrs, func(a takeover.Address) bool { return a.Interface == it.Name }) {
			continue
		}
		for _, a := range it.Addrs {
			if p := a.Prefix.Masked(); !slices.Contains(out, p) && !a.Prefix.Addr().IsLinkLocalUnicast() {
				out = append(out, p)
			}
		}
	}
	return out
}

// addrStrings are the addresses of as, as the arbiter's keys name them.
func addrStrings(as []takeover.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Addr().String()
	}
	return out
}
