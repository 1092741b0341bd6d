// Command heartbeatd runs on the primary server and sends a heartbeat
// every interval to each address given: one broadcast address per link,
// or the secondary's unicast addresses.
package main

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/heartbeatd"
	"github.com/ipfailover/ipfailover/internal/instance"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/metrics"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif/carrier"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func main() { os.Exit(cli.Main(config.Heartbeatd, run, heartbeatd.CheckArbiter)) }

func run(inv *cli.Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int {
	// First: a second heartbeatd must not send a heartbeat or touch an
	// address.
	lock, err := heartbeatd.Lock(c)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.StartFailure(err)
	}
	go instance.Answer(lock)
	defer lock.Close() // last: the goodbye is out before another may start

	conn, err := heartbeat.ListenUDP()
	if err != nil {
		log.Error("cannot open the heartbeat socket", "err", err)
		return cli.ExitFailure
	}
	defer conn.Close()
	sender, err := heartbeat.New(heartbeatd.Options(c), conn, heartbeatd.WithoutServiceIPs(c), log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	sender.Carrier = carrier.Watch
	endpoint, err := metrics.Open(c.MetricsListen(config.Heartbeatd), log)
	if err != nil {
		log.Error("cannot serve metrics", "err", err, "key", config.KeyMetricsAddr)
		return cli.ExitFailure
	}
	var met *heartbeatd.Metrics
	var tasks []cli.Task
	if endpoint != nil {
		met = heartbeatd.NewMetrics(endpoint.Registry, sender.Targets)
		tasks = append(tasks, cli.Task{Name: "metrics endpoint", Run: endpoint.Run})
	}
	tickler := neighbor.NewTickler(log, neighbor.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
	defer tickler.Close() // after every task ended: no announcement starts once it waits

	// heartbeatd's own notices: a conflict over a service address.
	notices := notify.NewAsync(log, notify.Sinks(c.Sendmail, c.EmailRecipient, c.NotifyCommand)...)
	defer notices.Close(10 * time.Second)
	svc, closeSvc, err := heartbeatd.OpenService(c, log, notices, heartbeatd.PrivateAddr(sender.Targets()))
	if err != nil {
		log.Error("cannot hold the service addresses", "err", err)
		return cli.ExitFailure
	}
	defer closeSvc()

	var arb heartbeatd.Arbiter // nil unless FAILOVER_ARBITER: not a nil *arbiter.Client
	if cl, closeArb, err := arbiter.Open(c, "primary", log); err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	} else if cl != nil {
		arb = cl
		defer closeArb()
		if endpoint != nil {
			metrics.NewArbiter(endpoint.Registry, cl.Status, func() []string { return heartbeatd.KeyAddrs(c, sender.Targets()) })
		}
	}

	sd := cli.NewNotifier(log)
	d := heartbeatd.New(c, heartbeatd.Deps{Sender: sender, Service: svc, Announcer: tickler, Watchdog: sd, Metrics: met, Log: log, Arbiter: arb,
		Listen: func(ctx context.Context, addr netip.Addr, keys func() *wire.Keyring, on heartbeat.FromSecondary) <-chan struct{} {
			return heartbeat.ServeReleased(ctx, addr, c.Port, keys, log, on)
		}})
	d.Checks = heartbeatd.NewChecks(c, log, met, d)
	return cli.Daemon{Name: "heartbeatd", Log: log, Systemd: sd, Main: d.Run, Tasks: append(tasks, d.Tasks()...), Started: d.Started,
		Reload: func(ctx context.Context) { d.Reload(ctx, inv.Reload(log, logs)) },
	}.Serve()
}
