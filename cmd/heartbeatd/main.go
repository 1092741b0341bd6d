// Command heartbeatd runs on the primary server and sends a heartbeat
// every interval to each address given: one broadcast address per link,
// or the secondary's unicast addresses.
package main

import (
	"context"
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
	"github.com/ipfailover/ipfailover/internal/health"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/netif/carrier"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func main() { os.Exit(cli.Main(config.Heartbeatd, run)) }

func options(c *config.Config) heartbeat.Options {
	return heartbeat.Options{
		Targets: c.BcastIPs, Port: c.Port, Interval: c.Interval,
		Message: c.Message, Node: c.NodeName, Keyring: c.Keyring(),
	}
}

func run(inv *cli.Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int {
	conn, err := heartbeat.ListenUDP()
	if err != nil {
		log.Error("cannot open the heartbeat socket", "err", err)
		return cli.ExitFailure
	}
	defer conn.Close()
	sender, err := heartbeat.New(options(c), conn, withoutServiceIPs(c), log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	met, serveMetrics, err := openMetrics(c, sender, log)
	if err != nil {
		log.Error("cannot serve metrics", "err", err, "key", config.KeyMetricsAddr)
		return cli.ExitFailure
	}
	tickler := neighbor.NewTickler(log, neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
	defer tickler.Close()
	var keys atomic.Pointer[wire.Keyring]
	keys.Store(c.Keyring())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	// heartbeatd's own notices: a conflict over a service address.
	notices := notify.NewAsync(log, notify.Sinks(c.Sendmail, c.EmailRecipient, c.NotifyCommand)...)
	defer notices.Close(10 * time.Second)
	svc, closeSvc, err := openService(c, log, conflictNotice(c, notices, privateAddr(sender.Links())))
	if err != nil {
		log.Error("cannot hold the service addresses", "err", err)
		return cli.ExitFailure
	}
	defer closeSvc()
	if svc != nil {
		// Gone before the goodbye: failoverd takes them the moment
		// they stop answering.
		sender.BeforeGoodbye = func() {
			rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := svc.Release(rctx); err != nil {
				log.Error("cannot remove the service addresses", "err", err)
			}
		}
		svcDone := make(chan struct{})
		go func() {
			defer close(svcDone)
			if err := svc.Run(ctx); err != nil {
				log.Error("service addresses", "err", err)
			}
		}()
		defer func() { stop(); <-svcDone }()
	}

	// The service checks, on a goroutine of their own: a check never
	// delays a heartbeat.
	checker := newChecker(c, log, met, func(healthy bool, f health.Failure) {
		met.Health(healthy)
		if healthy {
			if svc != nil {
				svc.SetHealthy() // back after the secondary's released
			}
			sender.SetHealth(true, "", false)
			return
		}
		yielded := false
		if svc != nil {
			// Gone before the heartbeats say so: failoverd takes them
			// the moment they stop answering, and only then.
			if err := svc.Yield(ctx); err != nil {
				log.Error("cannot remove the service addresses", "err", err)
			} else {
				yielded = true
			}
		}
		sender.SetHealth(false, health.Detail(f, wire.MaxMessageLen), yielded)
	})
	checksDone := make(chan struct{})
	go func() { checker.Run(ctx); close(checksDone) }()
	defer func() { stop(); <-checksDone }()

	if serveMetrics != nil {
		metricsDone := make(chan struct{})
		go func() { serveMetrics(ctx); close(metricsDone) }()
		defer func() { stop(); <-metricsDone }()
	}
	sd := cli.NewNotifier(log)
	done := make(chan error, 1)
	sender.Carrier = carrier.Watch
	go func() { done <- sender.Run(ctx, func() { sd.Alive(time.Now()) }, sd.WatchdogInterval()/3) }()
	sd.Ready()
	log.Info("heartbeatd started", "targets", len(c.BcastIPs), "interval", c.Interval, "port", c.Port,
		"node", c.NodeName, "epoch", sender.Epoch(), "authenticated", c.Keyring().Enabled())
	logLinks(log, sender.Links())
	tickler.Tickle(ctx, sender.Interfaces())
	met.Announced(heartbeat.AnnounceStart)

	// failoverd says `released`, to the private link's address, when it
	// gave the addresses back, and `holding` while it holds them and
	// hears this host; each names this run's epoch. Stopped before
	// tickler.Close runs (defers run last first): no announcement starts
	// once Close waits.
	fromSecondary := heartbeat.FromSecondary{Epoch: sender.Epoch(), Released: func(from netip.Addr, p wire.Packet) {
		log.Info("the secondary released the addresses; re-announcing them", "from", from, "sender", p.Sender)
		met.Released()
		if svc != nil {
			if err := svc.ClaimReleased(ctx); err != nil {
				log.Error("cannot add the service addresses", "err", err)
			}
		}
		// The links as they are now, not as the sender last looked: a
		// secondary gives back the moment it hears this host again,
		// which may be before the sender has seen a link come back.
		tickler.Tickle(ctx, currentInterfaces(log, sender.Interfaces()))
		met.Announced(heartbeat.AnnounceReleased)
	}}
	if svc != nil {
		fromSecondary.Holding = func(from netip.Addr, p wire.Packet) {
			log.Debug("the secondary says it holds the addresses", "from", from, "sender", p.Sender)
			if err := svc.SecondaryHolds(ctx); err != nil {
				log.Error("cannot remove the service addresses", "err", err)
			}
		}
	}
	released := heartbeat.ServeReleased(ctx, privateAddr(sender.Links()), c.Port, keys.Load, log, fromSecondary)
	defer func() { stop(); <-released }()

	for {
		select {
		case <-hup:
			sd.Reloading()
			if nc := inv.Reload(log, logs); nc != nil {
				if err := sender.Reload(options(nc)); err != nil {
					log.Error("reload refused", "err", err)
				} else {
					c = nc
					keys.Store(c.Keyring())
					tickler.SetSchedule(neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
					log.Info("configuration reloaded", "targets", len(c.BcastIPs), "interval", c.Interval)
				}
			}
			sd.Ready()
			logLinks(log, sender.Links())
			tickler.Tickle(ctx, sender.Interfaces())
			met.Announced(heartbeat.AnnounceReload)
		case err := <-done:
			sd.Stopping()
			if err != nil {
				log.Error("heartbeatd stopped", "err", err)
				return cli.ExitFailure
			}
			log.Info("heartbeatd stopped")
			return cli.ExitOK
		}
	}
}

// newChecker runs the Check* hooks of the service addresses' folders (or,
// without service addresses, of the host's public addresses) every
// FAILOVER_CHECK_INTERVAL.
func newChecker(c *config.Config, log *slog.Logger, met *heartbeat.Metrics, onChange func(bool, health.Failure)) *health.Checker {
	ifs, err := netif.Snapshot()
	if err != nil {
		log.Warn("cannot list interfaces to find the checks' folders", "err", err)
	}
	var targets []health.Target
	for _, p := range config.CheckTargets(c, ifs) {
		targets = append(targets, health.Target{Address: p.Addr, Interface: p.Interface})
	}
	return &health.Checker{
		Runner:  met.Checks(&hooks.Runner{Dir: c.HookDir, Timeout: c.CheckTimeout, Log: log, RequireSafe: os.Geteuid() == 0, Quiet: true}),
		Targets: targets, Interval: c.CheckInterval, Tracker: health.NewTracker(c.CheckFall, c.CheckRise, time.Now()),
		Log: log, OnChange: onChange,
	}
}

// openMetrics opens the metrics endpoint when FAILOVER_METRICS_ADDR asks
// for one: nil metrics (which count nothing) and no server without it.
func openMetrics(c *config.Config, sender *heartbeat.Sender, log *slog.Logger) (*heartbeat.Metrics, func(context.Context), error) {
	addr := c.MetricsListen(config.Heartbeatd)
	if addr == "" {
		return nil, nil, nil
	}
	l, err := metrics.Listen(addr)
	if err != nil {
		return nil, nil, err
	}
	reg := metrics.NewRegistry()
	m := heartbeat.NewMetrics(reg, sender.Links)
	return m, func(ctx context.Context) {
		log.Info("serving metrics", "addr", l.Addr().String(), "path", metrics.Path)
		if err := metrics.Serve(ctx, l, reg, log); err != nil {
			log.Error("metrics endpoint stopped", "err", err)
		}
	}, nil
}

// openService prepares the service addresses, if any: nil without them.
func openService(c *config.Config, log *slog.Logger, notice func(takeover.Address, string)) (*heartbeat.Service, func(), error) {
	if len(c.ServiceIPs) == 0 {
		return nil, func() {}, nil
	}
	addrs := make([]takeover.Address, len(c.ServiceIPs))
	ips := make([]netip.Addr, len(c.ServiceIPs))
	for i, p := range c.ServiceIPs {
		addrs[i] = takeover.Address{Interface: p.Interface, Prefix: p.Prefix()}
		ips[i] = p.Addr
	}
	manager, err := takeover.NewManager()
	if err != nil {
		return nil, nil, err
	}
	asker, err := neighbor.NewAsker(ips, manager.Interface)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: heartbeatd adds a service address only once nobody else answers for it, and cannot ask here: %w", config.KeyServiceIPs, err)
	}
	mover := &takeover.Mover{Manager: manager, Announcer: neighbor.OpenAnnouncer(log, "service addresses are announced by the system only, if at all"),
		Schedule: neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing), Log: log}
	svc := &heartbeat.Service{Addrs: addrs, Mover: mover, Asker: asker,
		Wait: max(c.AskWait, claimWait), ReleasedWait: c.AskWait, Retry: serviceRetry,
		Window: max(3*c.Interval, claimWait), Patience: c.HoldDown + releaseSlack, Notify: notice, Log: log}
	return svc, func() {
		mover.Wait()
		if mover.Announcer != nil {
			mover.Announcer.Close()
		}
		asker.Close()
	}, nil
}

// withoutServiceIPs lists the interfaces without the service addresses:
// heartbeats never leave from one, which comes and goes.
func withoutServiceIPs(c *config.Config) func() ([]netif.Interface, error) {
	return func() ([]netif.Interface, error) {
		ifs, err := netif.Snapshot()
		for i := range ifs {
			ifs[i].Addrs = slices.DeleteFunc(ifs[i].Addrs, func(a netif.Addr) bool {
				return slices.ContainsFunc(c.ServiceIPs, func(p config.Pair) bool { return p.Addr == a.Prefix.Addr() })
			})
		}
		return ifs, err
	}
}

// claimWait is the least time heartbeatd asks before it adds a service
// address on its own: nothing hurries it (after released it asks for
// FAILOVER_ASK_WAIT only: the secondary removed them before it said
// so), and a secondary slow to answer must not be missed.
const claimWait = 300 * time.Millisecond

// serviceRetry is how often heartbeatd asks again for service addresses
// another host answers for, and for those it holds, after the first
// questions (three intervals) that follow an add.
const serviceRetry = 2 * time.Second

// releaseSlack is what a secondary that heard this host may take beyond
// its hold-down to give a service address back (its Test and PreRel
// hooks): a host answering longer is a conflict notice.
const releaseSlack = 10 * time.Second

// conflictNotice sends heartbeatd's conflict notice about a service
// address; self is this host's private address (the primary's).
func conflictNotice(c *config.Config, n *notify.Async, self netip.Addr) func(takeover.Address, string) {
	peer := ""
	if self.IsValid() {
		peer = self.String()
	}
	return func(a takeover.Address, detail string) {
		n.Notify(notify.Event{Kind: notice.Conflict, Node: c.NodeName, Peer: peer, Addresses: []string{a.String()}, Detail: detail})
	}
}

// privateAddr is this host's address on the first target's link, where
// failoverd sends `released`.
func privateAddr(links []heartbeat.Link) netip.Addr {
	if len(links) > 0 && links[0].Route.Kind != netif.NoLink {
		return links[0].Route.Addr.Prefix.Addr()
	}
	return netip.Addr{}
}

func logLinks(log *slog.Logger, links []heartbeat.Link) {
	for _, l := range links {
		if l.Route.Kind == netif.NoLink {
			log.Warn("target is on no connected subnet; heartbeats to it follow the routing table (heartbeatd -n says more)", "target", l.Target)
			continue
		}
		log.Info("sending heartbeats", "target", l.Target, "link", l.Route.Interface.Name, "src", l.Route.Addr.Prefix.Addr(),
			"up", l.Route.Interface.Up, "carrier", l.Route.Interface.Running)
	}
}

// currentInterfaces reads the interfaces named in ifs again; where that
// fails, it returns ifs.
func currentInterfaces(log *slog.Logger, ifs []netif.Interface) []netif.Interface {
	now, err := netif.Snapshot()
	if err != nil {
		log.Warn("cannot list interfaces; announcing on the links as last seen", "err", err)
		return ifs
	}
	var out []netif.Interface
	for _, it := range ifs {
		for _, n := range now {
			if n.Name == it.Name {
				out = append(out, n)
				break
			}
		}
	}
	return out
}
