package heartbeatd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/health"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Sender sends the heartbeats (heartbeat.Sender).
type Sender interface {
	Run(ctx context.Context, alive func(), aliveEvery time.Duration) error
	SetHealth(healthy bool, detail string, yielded bool)
	SetBeforeGoodbye(func())
	Reload(heartbeat.Options) error
	Targets() []heartbeat.Target
	Interfaces() []netif.Interface
	Epoch() uint64
}

// ServiceAddrs are the service addresses this host holds while its
// service is healthy (heartbeat.Service).
type ServiceAddrs interface {
	Run(ctx context.Context) error
	Release(ctx context.Context) error
	Yield(ctx context.Context) error
	SetHealthy()
	ClaimReleased(ctx context.Context) error
	SecondaryHolds(ctx context.Context) error
}

// Announcer re-announces this host's addresses (neighbor.Tickler).
type Announcer interface {
	Tickle(ctx context.Context, ifs []netif.Interface)
	SetSchedule(neighbor.Schedule)
}

// Checks run the service checks until ctx ends; their verdicts come back
// through Daemon.Health (health.Checker).
type Checks interface{ Run(ctx context.Context) }

// Listen hears the secondary's messages to addr until ctx ends, checked
// with the keys keys returns; the channel closes when it has stopped
// (heartbeat.ServeReleased).
type Listen func(ctx context.Context, addr netip.Addr, keys func() *wire.Keyring, on heartbeat.FromSecondary) <-chan struct{}

// Watchdog is systemd's watchdog (cli.Notifier).
type Watchdog interface {
	Alive(now time.Time)
	WatchdogInterval() time.Duration
}

// Deps are the daemon's collaborators. Service and Checks may be nil.
type Deps struct {
	Sender    Sender
	Service   ServiceAddrs
	Announcer Announcer
	Checks    Checks
	Listen    Listen
	Watchdog  Watchdog
	Metrics   *Metrics // nil counts nothing
	// Arbiter is the quorum (FAILOVER_ARBITER); nil: none. With it,
	// Service must be a LeasedService.
	Arbiter Arbiter
	// Interfaces lists the host's interfaces now (netif.Snapshot).
	Interfaces func() ([]netif.Interface, error)
	Log        *slog.Logger
}

// Daemon is heartbeatd at run time.
type Daemon struct {
	Deps
	cfg  atomic.Pointer[config.Config]
	keys atomic.Pointer[wire.Keyring]
	arb  arbiterState // the arbiter (arbiter.go)
}

// goodbyeWait bounds the removal of the service addresses before the
// goodbye.
const goodbyeWait = 10 * time.Second

// New returns the daemon for c.
func New(c *config.Config, deps Deps) *Daemon {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Interfaces == nil {
		deps.Interfaces = netif.Snapshot
	}
	d := &Daemon{Deps: deps}
	d.cfg.Store(c)
	d.keys.Store(c.Keyring())
	if d.Arbiter != nil && d.Service != nil {
		svc, ok := d.Service.(LeasedService)
		if !ok {
			panic(fmt.Sprintf("heartbeatd: with an arbiter, the service addresses (%T) must be a LeasedService", d.Service))
		}
		svc.SetKeys(serviceKeys{d})
	}
	if d.Service != nil || d.Arbiter != nil {
		// Gone before the goodbye: failoverd takes them the moment they
		// stop answering, and claims their keys.
		d.Sender.SetBeforeGoodbye(func() {
			ctx, cancel := context.WithTimeout(context.Background(), goodbyeWait)
			defer cancel()
			if d.Service != nil {
				if err := d.Service.Release(ctx); err != nil {
					d.Log.Error("cannot remove the service addresses", "err", err)
				}
			}
			if d.Arbiter != nil {
				d.releaseKeys(ctx)
			}
		})
	}
	return d
}

// Options are the sender's options for c.
func Options(c *config.Config) heartbeat.Options {
	return heartbeat.Options{
		Targets: c.BcastIPs, Port: c.Port, Interval: c.Interval,
		Message: c.Message, Node: c.NodeName, Keyring: c.Keyring(),
	}
}

// Run sends heartbeats until ctx ends, then the goodbye (after the
// service addresses are gone, and their keys freed). With an arbiter, it
// keeps this host's lease and keys meanwhile, and revokes the lease only
// after the goodbye.
func (d *Daemon) Run(ctx context.Context) error {
	var alive func()
	var every time.Duration
	if d.Watchdog != nil {
		alive, every = func() { d.Watchdog.Alive(time.Now()) }, d.Watchdog.WatchdogInterval()/3
	}
	return d.runArbiter(ctx, func() error { return d.Sender.Run(ctx, alive, every) })
}

// Tasks are what runs beside Run: the service addresses, the checks and
// the listener for the secondary's messages.
func (d *Daemon) Tasks() []cli.Task {
	var ts []cli.Task
	if d.Service != nil {
		ts = append(ts, cli.Task{Name: "service addresses", Run: d.Service.Run})
	}
	if d.Checks != nil {
		ts = append(ts, cli.Task{Name: "service checks", Run: func(ctx context.Context) error { d.Checks.Run(ctx); return nil }})
	}
	return append(ts, cli.Task{Name: "listener for the secondary", Run: d.listen})
}

// listen hears the secondary's `released` and `holding`, on this host's
// private address, until ctx ends.
func (d *Daemon) listen(ctx context.Context) error {
	on := heartbeat.FromSecondary{Epoch: d.Sender.Epoch(), Released: func(from netip.Addr, p wire.Packet) { d.released(ctx, from, p) }}
	if d.Service != nil {
		on.Holding = func(from netip.Addr, p wire.Packet) { d.holding(ctx, from, p) }
	}
	<-d.Listen(ctx, PrivateAddr(d.Sender.Targets()), d.keys.Load, on)
	return nil
}

// Started logs the targets and announces this host's addresses, once the
// heartbeats go out.
func (d *Daemon) Started(ctx context.Context) {
	c := d.cfg.Load()
	d.Log.Info("heartbeatd started", "targets", len(c.BcastIPs), "interval", c.Interval, "port", c.Port,
		"node", c.NodeName, "epoch", d.Sender.Epoch(), "authenticated", c.Keyring().Enabled())
	d.announce(ctx, d.Sender.Interfaces(), AnnounceStart)
}

// Reload applies nc, as SIGHUP asks: a configuration the sender refuses
// leaves everything as it ran. The addresses are announced again either
// way.
func (d *Daemon) Reload(ctx context.Context, nc *config.Config) {
	if nc != nil {
		if err := d.Sender.Reload(Options(nc)); err != nil {
			d.Log.Error("reload refused", "err", err)
		} else {
			d.cfg.Store(nc)
			d.keys.Store(nc.Keyring())
			d.Announcer.SetSchedule(neighbor.ScheduleOf(nc.AnnounceRepeats, nc.AnnounceSpacing))
			d.Log.Info("configuration reloaded", "targets", len(nc.BcastIPs), "interval", nc.Interval)
		}
	}
	d.announce(ctx, d.Sender.Interfaces(), AnnounceReload)
}

// Health applies a change of the service checks' verdict. Unhealthy: the
// service addresses go first, then the heartbeats say so, with whether
// they went; failoverd takes them the moment they stop answering, and
// only then.
func (d *Daemon) Health(ctx context.Context, healthy bool, f health.Failure) {
	d.Metrics.Health(healthy)
	if healthy {
		if d.Service != nil {
			d.Service.SetHealthy() // back after the secondary's released
		}
		d.Sender.SetHealth(true, "", false)
		return
	}
	yielded := false
	if d.Service != nil {
		if err := d.Service.Yield(ctx); err != nil {
			d.Log.Error("cannot remove the service addresses", "err", err)
		} else {
			yielded = true
		}
	}
	d.Sender.SetHealth(false, health.Detail(f, wire.MaxMessageLen), yielded)
}

// released: the secondary gave the addresses back. The service addresses
// are claimed, then this host's addresses re-announced on the links as
// they are now, not as the sender last looked: a secondary gives back the
// moment it hears this host again, which may be before the sender has
// seen a link come back.
func (d *Daemon) released(ctx context.Context, from netip.Addr, p wire.Packet) {
	d.Log.Info("the secondary released the addresses; re-announcing them", "from", from, "sender", p.Sender)
	d.Metrics.Released()
	if d.Service != nil {
		if err := d.Service.ClaimReleased(ctx); err != nil {
			d.Log.Error("cannot add the service addresses", "err", err)
		}
	}
	d.announce(ctx, d.current(d.Sender.Interfaces()), AnnounceReleased)
}

// holding: the secondary says it holds the addresses and hears this host.
func (d *Daemon) holding(ctx context.Context, from netip.Addr, p wire.Packet) {
	d.Log.Debug("the secondary says it holds the addresses", "from", from, "sender", p.Sender)
	if err := d.Service.SecondaryHolds(ctx); err != nil {
		d.Log.Error("cannot remove the service addresses", "err", err)
	}
}

// announce logs the targets and re-announces this host's addresses on ifs.
func (d *Daemon) announce(ctx context.Context, ifs []netif.Interface, why string) {
	logTargets(d.Log, d.Sender.Targets())
	d.Announcer.Tickle(ctx, ifs)
	d.Metrics.Announced(why)
}

// current reads the interfaces named in ifs again; where that fails, it
// returns ifs.
func (d *Daemon) current(ifs []netif.Interface) []netif.Interface {
	now, err := d.Interfaces()
	if err != nil {
		d.Log.Warn("cannot list interfaces; announcing on the links as last seen", "err", err)
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

// PrivateAddr is this host's address on the first target's link, where
// failoverd sends its messages.
func PrivateAddr(targets []heartbeat.Target) netip.Addr {
	if len(targets) > 0 && targets[0].Route.Kind != netif.NoLink {
		return targets[0].Route.Addr.Prefix.Addr()
	}
	return netip.Addr{}
}

func logTargets(log *slog.Logger, targets []heartbeat.Target) {
	for _, l := range targets {
		if l.Route.Kind == netif.NoLink {
			log.Warn("target is on no connected subnet; heartbeats to it follow the routing table (heartbeatd -n says more)", "target", l.Addr)
			continue
		}
		log.Info("sending heartbeats", "target", l.Addr, "link", l.Route.Interface.Name, "src", l.Route.Addr.Prefix.Addr(),
			"up", l.Route.Interface.Up, "carrier", l.Route.Interface.Running)
	}
}
