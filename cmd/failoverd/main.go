// Command failoverd runs on the secondary server: it listens for the
// primary's heartbeats on every link and takes over the primary's public
// addresses when they stop on all of them, running the administrator's
// hooks around it; when the primary returns, it gives them back.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func main() { os.Exit(cli.Main(config.Failoverd, run)) }

// stopTimeout bounds the give-back on a clean stop (hooks included).
const stopTimeout = 5 * time.Minute

// linksOf names the links: the interface on the private address's subnet
// first, then each pair's interface.
func linksOf(c *config.Config, ifs []netif.Interface) ([]string, error) {
	r := netif.Find(ifs, c.PeerIP)
	if r.Kind == netif.NoLink {
		return nil, fmt.Errorf("no interface has a subnet that holds %s (%s), so there is no private link to listen on; failoverd -n says more", c.PeerIP, config.KeyPeerIP)
	}
	links := []string{r.Interface.Name}
	for _, p := range c.Pairs {
		if !slices.Contains(links, p.Interface) {
			links = append(links, p.Interface)
		}
	}
	return links, nil
}

func run(inv *cli.Invocation, c *config.Config) int {
	log, logs, err := logging.NewReloadable(inv.LogOptions(c))
	if err != nil {
		fmt.Fprintf(inv.Stderr, "failoverd: cannot set up logging: %v\n", err)
		return cli.ExitConfig
	}
	defer logs.Close()
	cli.LogWarnings(log, c)

	ifs, err := netif.Snapshot()
	if err != nil {
		log.Error("cannot list interfaces", "err", err)
		return cli.ExitFailure
	}
	links, err := linksOf(c, ifs)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	peers := []netip.Addr{c.PeerIP}
	var addrs []takeover.Address
	for _, p := range c.Pairs {
		peers = append(peers, p.Addr)
		addrs = append(addrs, takeover.Address{Interface: p.Interface, Prefix: p.Prefix()})
	}
	var keys atomic.Pointer[wire.Keyring]
	keys.Store(c.Keyring())

	mon, err := monitor.Listen(monitor.Config{Port: c.Port, Links: links, Peers: peers, Keyring: keys.Load,
		Freshness: c.ReplayWindow, Legacy: c.Legacy, LegacyMessage: c.Message}, log)
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
	announcer, err := takeover.NewAnnouncer()
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			log.Info("addresses are announced by the system only", "reason", err)
		} else {
			log.Warn("taken addresses will not be announced", "err", err)
		}
		announcer = nil
	}
	mover := &takeover.Mover{Manager: manager, Announcer: announcer, Schedule: takeover.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing), Refresh: c.AnnounceRefresh, Log: log}

	// Reconcile: addresses a crash left on the host are kept, with no
	// hooks run again; the machine gives them back if the primary is heard.
	held, err := manager.Held(context.Background(), addrs)
	if err != nil {
		log.Error("cannot list the addresses this host holds", "err", err)
		return cli.ExitFailure
	}
	if len(held) > 0 {
		// Only what is there: the rest is taken only by a takeover, once
		// the primary is known to be silent.
		log.Warn("this host already holds public addresses (left by an earlier run); keeping them, no hooks run", "held", len(held), "of", len(addrs))
		mover.Adopt(held...)
	}

	ctl, err := control.Listen(c.ControlSocket)
	if err != nil {
		log.Error("cannot open the control socket", "err", err)
		return cli.ExitFailure
	}

	var notifiers []notify.Notifier
	if c.Sendmail != "" {
		notifiers = append(notifiers, notify.Mail{Sendmail: c.Sendmail, To: c.EmailRecipient})
	}
	if c.NotifyCommand != "" {
		notifiers = append(notifiers, notify.Command{Path: c.NotifyCommand})
	}
	var epoch [8]byte
	_, _ = rand.Read(epoch[:])

	now := time.Now()
	machine := failover.New(failover.Params{
		Links: links, DeadCount: c.DeadCount, Timeout: c.Timeout, DefaultInterval: config.DefaultSenderInterval(),
		InitialGrace: c.InitialGrace, HoldDown: c.HoldDown, AutoGiveBack: c.AutoGiveBack,
	}, now, len(held) > 0)
	if len(held) > 0 && len(held) < len(addrs) {
		machine.Incomplete()
	}

	jobCtx, cancelJobs := context.WithCancel(context.Background())
	defer cancelJobs()
	e := &engine{
		cfg: c, log: log, machine: machine, mon: mon, mover: mover,
		hooks:    &hooks.Runner{Dir: c.HookDir, Timeout: c.HookTimeout, Log: log, RequireSafe: runningAsRoot()},
		notifier: notify.NewAsync(log, notifiers...),
		sd:       cli.NewNotifier(log),
		keys:     keys.Load, addrs: addrs,
		heard: make(chan monitor.Heard, 64), events: make(chan failover.Event, 8), jobsDone: make(chan jobResult, 1),
		requests: make(chan request), stages: map[string]control.Stage{},
		epoch: binary.BigEndian.Uint64(epoch[:]), jobCtx: jobCtx,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	monDone := make(chan error, 1)
	go func() { monDone <- mon.Run(ctx, e.heard) }()
	go mover.Keep(ctx, c.ReconcileInterval)
	go func() {
		if err := control.Serve(ctx, ctl, e.handle, log); err != nil {
			log.Error("control socket stopped", "err", err)
		}
	}()
	e.sd.Ready()
	log.Info("failoverd started", "peer", c.PeerIP, "links", links, "addresses", e.addrStrings(), "state", func() failover.State { s, _ := machine.State(); return s }(),
		"grace", c.InitialGrace, "hold_down", c.HoldDown, "auto_giveback", c.AutoGiveBack, "authenticated", c.Keyring().Enabled(), "control", c.ControlSocket)

	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() { e.loop(loopCtx); close(loopDone) }()
	code := cli.ExitOK
wait:
	for {
		select {
		case <-hup:
			e.sd.Reloading()
			reload(inv, e, logs, &keys)
			e.sd.Ready()
		case err := <-monDone:
			if err != nil {
				log.Error("heartbeat listener failed", "err", err)
				code = cli.ExitFailure
			}
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	stop() // ends the listener, the reconcile tick and the control socket
	stopLoop()
	<-loopDone
	e.sd.Stopping()
	e.shutdown(log)
	_ = os.Remove(c.ControlSocket)
	log.Info("failoverd stopped")
	return code
}

// reload applies what can change while running: keys and logging. The
// links, addresses and timing need a restart, and it says so.
func reload(inv *cli.Invocation, e *engine, logs *logging.Reloadable, keys *atomic.Pointer[wire.Keyring]) {
	nc, err := config.Load(config.Failoverd, inv.Sources)
	if err != nil {
		for _, ce := range config.Errors(err) {
			e.log.Error("reload refused; keeping the running configuration", "err", ce)
		}
		return
	}
	if err := logs.Reload(inv.LogOptions(nc)); err != nil {
		e.log.Error("cannot switch logging; keeping the old destination", "err", err)
	}
	cli.LogWarnings(e.log, nc)
	keys.Store(nc.Keyring())
	if changed := config.Changed(e.cfg, nc, config.Failoverd, config.KeyAuthKeyFile, config.KeyLogFile, config.KeyLogFacility); len(changed) > 0 {
		e.log.Warn("configuration reloaded: keys and logging apply now; restart failoverd for the other changes", "changed", changed)
		return
	}
	e.log.Info("configuration reloaded")
}

// shutdown ends running jobs and, if this host holds the addresses, gives
// them back (PreRel and PostRel run; Test does not: failoverd is going
// away either way), then tells the primary.
func (e *engine) shutdown(log *slog.Logger) {
	e.jobs.Wait()
	if len(e.mover.Holding()) > 0 {
		log.Info("stopping while holding the addresses: giving them back")
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		r := e.giveBack(ctx, "failoverd is stopping", false)
		cancel()
		detail := "failoverd stopped and gave the addresses back"
		if r.done.Err != nil {
			detail += ", with errors: " + r.done.Err.Error()
		}
		e.notice(notify.GiveBack, detail)
	}
	e.notifier.Close(10 * time.Second)
	e.mover.Wait()
	if e.mover.Announcer != nil {
		e.mover.Announcer.Close()
	}
}
