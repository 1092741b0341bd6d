package heartbeatd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/health"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/instance"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/notify"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// The service addresses' timing.
const (
	// claimWait is the least time heartbeatd asks before it adds a
	// service address on its own: nothing hurries it (after released it
	// asks for FAILOVER_ASK_WAIT only: the secondary removed them before
	// it said so), and a secondary slow to answer must not be missed.
	claimWait = 300 * time.Millisecond
	// serviceRetry is how often heartbeatd asks again for service
	// addresses another host answers for, and for those it holds, after
	// the first questions (three intervals) that follow an add.
	serviceRetry = 2 * time.Second
	// releaseSlack is what a secondary that heard this host may take
	// beyond its hold-down to give a service address back (its Test and
	// PreRel hooks): a host answering longer is a conflict notice.
	releaseSlack = 10 * time.Second
)

// Lock opens c's FAILOVER_LOCK_SOCKET, so that no second heartbeatd with
// it starts while this one runs (an *instance.RunningError names the one
// that does). instance.Answer answers on it; closing it lets the next
// one start.
func Lock(c *config.Config) (net.Listener, error) {
	l, err := instance.Listen(c.LockSocket, "heartbeatd", config.KeyLockSocket)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// OpenService prepares the service addresses of c, if any (a nil
// interface without them, fit for Deps.Service); close releases what it
// opened. Conflicts over them are noticed through notices, as from self
// (this host's private address).
func OpenService(c *config.Config, log *slog.Logger, notices *notify.Async, self netip.Addr) (svc ServiceAddrs, close func(), err error) {
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
	svc = NewService(c, addrs, mover, asker, conflictNotice(c, notices, self), log)
	return svc, func() {
		mover.Wait()
		if mover.Announcer != nil {
			mover.Announcer.Close()
		}
		asker.Close()
	}, nil
}

// NewService is the service addresses addrs of c, moved by mover once
// asker hears nobody else answer for them; notify tells of a conflict.
// Those the host holds already, left by a run killed before it could
// remove them, are this run's from the start: failing checks, the
// secondary's holding and the stop remove them too.
func NewService(c *config.Config, addrs []takeover.Address, mover *takeover.Mover, asker neighbor.Asker,
	notify func(takeover.Address, string), log *slog.Logger) *heartbeat.Service {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if held, err := mover.Manager.Held(ctx, addrs); err != nil {
		log.Warn("cannot tell which service addresses the host holds already", "err", err)
	} else {
		for _, a := range held {
			log.Info("holding a service address the host holds already (left by an earlier run)", "addr", a)
		}
		mover.Adopt(held...)
	}
	return &heartbeat.Service{Addrs: addrs, Mover: mover, Asker: asker,
		Wait: max(c.AskWait, claimWait), ReleasedWait: c.AskWait, Retry: serviceRetry,
		Window: max(3*c.Interval, claimWait), Patience: c.HoldDown + releaseSlack, Notify: notify, Log: log}
}

// conflictNotice sends heartbeatd's conflict notice about a service
// address; self is this host's private address (the primary's).
func conflictNotice(c *config.Config, n *notify.Async, self netip.Addr) func(takeover.Address, string) {
	peer := ""
	if self.IsValid() {
		peer = self.String()
	}
	return func(a takeover.Address, detail string) {
		n.Notify(notify.Notice{Kind: notice.Conflict, Node: c.NodeName, Peer: peer, Addresses: []string{a.String()}, Detail: detail})
	}
}

// NewChecks runs the Check* hooks of the service addresses' folders (or,
// without service addresses, of the host's public addresses) every
// FAILOVER_CHECK_INTERVAL, and tells d of each change of verdict. m counts
// and times them.
func NewChecks(c *config.Config, log *slog.Logger, m *Metrics, d *Daemon) *health.Checker {
	ifs, err := netif.Snapshot()
	if err != nil {
		log.Warn("cannot list interfaces to find the checks' folders", "err", err)
	}
	runner := m.Checks(&hooks.Runner{Dir: c.HookDir, Timeout: c.CheckTimeout, Log: log, RequireSafe: os.Geteuid() == 0, Quiet: true})
	return NewChecker(c, config.CheckTargets(c, ifs), runner, log, d)
}

// NewChecker runs runner's Check* hooks of targets every
// FAILOVER_CHECK_INTERVAL, by the fall and rise of c, and tells d of
// each change of verdict.
func NewChecker(c *config.Config, targets []config.Pair, runner health.HookRunner, log *slog.Logger, d *Daemon) *health.Checker {
	var ts []health.Target
	for _, p := range targets {
		ts = append(ts, health.Target{Address: p.Addr, Interface: p.Interface})
	}
	return &health.Checker{
		Runner: runner, Targets: ts, Interval: c.CheckInterval, Tracker: health.NewTracker(c.CheckFall, c.CheckRise, time.Now()),
		Log: log, OnChange: d.Health,
	}
}

// WithoutServiceIPs lists the interfaces without the service addresses:
// heartbeats never leave from one, which comes and goes.
func WithoutServiceIPs(c *config.Config) func() ([]netif.Interface, error) {
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
