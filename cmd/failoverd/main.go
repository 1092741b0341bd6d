// Command failoverd runs on the secondary server: it listens for the
// primary's heartbeats on every link and takes over the primary's public
// addresses when they stop on all of them, running the administrator's
// hooks around it; when the primary returns, it gives them back.
package main

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/failoverd"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/netif/carrier"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func main() { os.Exit(cli.Main(config.Failoverd, run)) }

func run(inv *cli.Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int {
	peers := []netip.Addr{c.PeerIP}
	var addrs []takeover.Address
	for _, p := range c.Pairs {
		peers = append(peers, p.Addr)
		addrs = append(addrs, takeover.Address{Interface: p.Interface, Prefix: p.Prefix()})
	}
	ifs, err := netif.Snapshot()
	if err != nil {
		log.Error("cannot list interfaces", "err", err)
		return cli.ExitFailure
	}
	links, err := failoverd.Links(ifs, c.PeerIP, addrs)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	var keys atomic.Pointer[wire.Keyring]
	keys.Store(c.Keyring())

	// The runs of heartbeatd heard before a restart stay left behind.
	replay := failoverd.OpenReplayStore(c.StateDir, log)
	mon, err := monitor.Listen(monitor.Config{Port: c.Port, Links: links, Peers: peers, PeerNets: publicSubnets(ifs, addrs), Keyring: keys.Load,
		Freshness: c.ReplayWindow, Replay: replay.Load(), Legacy: c.Legacy, LegacyMessage: c.Message}, log)
	if err != nil {
		log.Error("cannot listen for heartbeats", "err", err)
		return cli.ExitFailure
	}
	defer mon.Close()

	manager, err := takeover.NewManager()
	if err != nil {
		log.Error("cannot manage addresses", "err", err)
		return cli.ExitFailure
	}
	mover := &takeover.Mover{Manager: manager, Announcer: neighbor.OpenAnnouncer(log, "taken addresses are announced by the system only, if at all"), Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing), Refresh: c.AnnounceRefresh, Log: log}

	// Reconcile: addresses a crash left on the host are kept, with no
	// hooks run again; the machine gives them back if the primary is heard.
	held, err := manager.Held(context.Background(), addrs)
	if err != nil {
		log.Error("cannot list the addresses this host holds", "err", err)
		return cli.ExitFailure
	}
	if len(held) > 0 {
		log.Warn("this host already holds public addresses (left by an earlier run); keeping them, no hooks run", "held", len(held), "of", len(addrs))
	}

	var hookRunner failoverd.HookRunner = &hooks.Runner{Dir: c.HookDir, Timeout: c.HookTimeout, Log: log, RequireSafe: os.Geteuid() == 0}
	sinks := notify.Sinks(c.Sendmail, c.EmailRecipient, c.NotifyCommand)
	var observer failoverd.Observer
	var serveMetrics func(ctx context.Context)
	if addr := c.MetricsListen(config.Failoverd); addr != "" {
		l, err := metrics.Listen(addr)
		if err != nil {
			log.Error("cannot serve metrics", "err", err, "key", config.KeyMetricsAddr)
			return cli.ExitFailure
		}
		reg := metrics.NewRegistry()
		m := failoverd.NewMetrics(reg, failoverd.MetricsSources{Stats: mon.Stats, Holding: func() int { return len(mover.Holding()) }})
		hookRunner, sinks, observer = m.Hooks(hookRunner), m.Notifiers(sinks), m
		serveMetrics = func(ctx context.Context) {
			log.Info("serving metrics", "addr", l.Addr().String(), "path", metrics.Path)
			if err := metrics.Serve(ctx, l, reg, log); err != nil {
				log.Error("metrics endpoint stopped", "err", err)
			}
		}
	}

	ctl, err := control.Listen(c.ControlSocket)
	if err != nil {
		log.Error("cannot open the control socket", "err", err)
		return cli.ExitFailure
	}

	// Ask who answers for the addresses before taking them; where that
	// cannot work, silence alone decides, as in the original.
	var asker failoverd.Asker
	// The primary's private address too: with FAILOVER_CONFIRM its host
	// is probed there (and at the address its public heartbeats come
	// from, heard later).
	ips := []netip.Addr{c.PeerIP}
	for _, a := range addrs {
		ips = append(ips, a.Addr())
	}
	if a := neighbor.OpenAsker(log, ips, manager.Interface); a != nil {
		defer a.Close()
		asker = a
	}

	notifier := notify.NewAsync(log, sinks...)
	sd := cli.NewNotifier(log)
	d := failoverd.New(failoverd.Config{
		Node: c.NodeName, Peer: c.PeerIP, Addresses: addrs, Held: held, Keys: keys.Load, Reconcile: c.ReconcileInterval,
		OnLink: onLink(ifs),
		Machine: failover.Params{Links: links, DeadCount: c.DeadCount, Timeout: c.Timeout, DefaultInterval: config.DefaultSenderInterval(),
			InitialGrace: c.InitialGrace, HoldDown: c.HoldDown, AutoGiveBack: c.AutoGiveBack,
			AskWait: c.AskWait, GoodbyeWait: c.GoodbyeWait, ConflictTest: c.ConflictTest,
			Confirm: c.Confirm, Probes: c.ConfirmProbes, ProbeSpacing: c.ConfirmSpacing},
	}, failoverd.Deps{
		Source: mon, Mover: mover, Notifier: notifier, Watchdog: sd, Log: log,
		Hooks:    hookRunner,
		Released: failoverd.UDPPeer{To: netip.AddrPortFrom(c.PeerIP, c.Port)},
		Asker:    asker,
		Carrier:  carrierWatch(c, log),
		Observer: observer,
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	go func() {
		if err := control.Serve(ctx, ctl, d.Handle, log); err != nil {
			log.Error("control socket stopped", "err", err)
		}
	}()
	if serveMetrics != nil {
		go serveMetrics(ctx)
	}
	kept := make(chan struct{})
	go func() { replay.Keep(ctx, mon); close(kept) }()
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(ctx) }()
	sd.Ready()
	log.Info("failoverd started", "peer", c.PeerIP, "links", links, "addresses", addrs, "state", d.State(),
		"grace", c.InitialGrace, "hold_down", c.HoldDown, "auto_giveback", c.AutoGiveBack, "authenticated", c.Keyring().Enabled(), "control", c.ControlSocket)

	var runErr error
wait:
	for {
		select {
		case <-hup:
			sd.Reloading()
			reload(inv, log, c, logs, &keys)
			sd.Ready()
		case <-ctx.Done():
			// Stopping while Run gives the addresses back; a second
			// signal ends the process at once.
			sd.Stopping()
			stop()
			signal.Stop(hup)
			runErr = <-runDone
			break wait
		case runErr = <-runDone:
			sd.Stopping()
			break wait
		}
	}
	code := cli.ExitOK
	if runErr != nil {
		log.Error("heartbeat listener failed", "err", runErr)
		code = cli.ExitFailure
	}
	stop() // also when the listener failed
	<-kept // the replay store's last write
	notifier.Close(10 * time.Second)
	mover.Wait()
	if mover.Announcer != nil {
		mover.Announcer.Close()
	}
	_ = os.Remove(c.ControlSocket)
	log.Info("failoverd stopped")
	return code
}

// carrierWatch is the links' carrier watch with FAILOVER_CONFIRM, where
// this system has one.
func carrierWatch(c *config.Config, log *slog.Logger) failoverd.CarrierWatch {
	if !c.Confirm {
		return nil
	}
	if runtime.GOOS != "linux" {
		log.Info("the links' carrier is not watched on this system: the timeout decides")
		return nil
	}
	return carrier.Watch
}

// onLink says whether addr is in a subnet of the interface named link,
// as the interfaces were at start.
func onLink(ifs []netif.Interface) func(link string, addr netip.Addr) bool {
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

// publicSubnets are the subnets of the interfaces that carry the public
// addresses: a primary that holds service addresses sends its public
// heartbeats from its own address there.
func publicSubnets(ifs []netif.Interface, addrs []takeover.Address) []netip.Prefix {
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

// reload applies what can change while running: keys and logging. The
// links, addresses and timing need a restart, and it says so.
func reload(inv *cli.Invocation, log *slog.Logger, c *config.Config, logs *logging.Reloadable, keys *atomic.Pointer[wire.Keyring]) {
	nc := inv.Reload(log, logs)
	if nc == nil {
		return
	}
	keys.Store(nc.Keyring())
	if changed := config.Changed(c, nc, config.Failoverd, config.KeyAuthKeyFile, config.KeyLogFile, config.KeyLogFacility); len(changed) > 0 {
		log.Warn("configuration reloaded: keys and logging apply now; restart failoverd for the other changes", "changed", changed)
		return
	}
	log.Info("configuration reloaded")
}
