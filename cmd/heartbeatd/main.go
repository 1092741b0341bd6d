// Command heartbeatd runs on the primary server and sends a heartbeat
// every interval to each address given: one broadcast address per link,
// or the secondary's unicast addresses.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/heartbeat"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/netif"
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

func run(inv *cli.Invocation, c *config.Config) int {
	log, logs, err := logging.NewReloadable(inv.LogOptions(c))
	if err != nil {
		fmt.Fprintf(inv.Stderr, "heartbeatd: cannot set up logging: %v\n", err)
		return cli.ExitConfig
	}
	defer logs.Close()
	cli.LogWarnings(log, c)

	conn, err := heartbeat.ListenUDP()
	if err != nil {
		log.Error("cannot open the heartbeat socket", "err", err)
		return cli.ExitFailure
	}
	defer conn.Close()
	sender, err := heartbeat.New(options(c), conn, netif.Snapshot, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	tickler := newTickler(log, takeover.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
	defer tickler.close()
	var keys atomic.Pointer[wire.Keyring]
	keys.Store(c.Keyring())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	sd := cli.NewNotifier(log)
	done := make(chan error, 1)
	go func() { done <- sender.Run(ctx, func() { sd.Alive(time.Now()) }, sd.WatchdogInterval()/3) }()
	sd.Ready()
	log.Info("heartbeatd started", "targets", len(c.BcastIPs), "interval", c.Interval, "port", c.Port,
		"node", c.NodeName, "epoch", sender.Epoch(), "authenticated", c.Keyring().Enabled())
	logLinks(log, sender.Links())
	tickler.tickle(ctx, sender.Links())

	// failoverd says `released` when it gave the addresses back.
	listening := make(chan struct{})
	// It goes to the private link's address: the first target's link.
	var privAddr netip.Addr
	if links := sender.Links(); len(links) > 0 && links[0].Route.Kind != netif.NoLink {
		privAddr = links[0].Route.Addr.Prefix.Addr()
	}
	if rl, err := heartbeat.ListenReleased(privAddr, c.Port, log); err != nil {
		close(listening)
		log.Warn("will not hear the secondary's released message; addresses are re-announced only at start and on SIGHUP", "err", err)
	} else {
		// Runs before tickler.close (defers run last first): no new
		// announcement starts once the tickler waits for the last ones.
		defer func() { stop(); <-listening }()
		go func() {
			defer close(listening)
			defer rl.Close()
			err := rl.Run(ctx, keys.Load, func(from netip.Addr, p wire.Packet) {
				log.Info("the secondary released the addresses; re-announcing them", "from", from, "sender", p.Sender)
				tickler.tickle(ctx, sender.Links())
			})
			if err != nil {
				log.Error("released listener stopped", "err", err)
			}
		}()
	}

	for {
		select {
		case <-hup:
			sd.Reloading()
			nc, err := config.Load(config.Heartbeatd, inv.Sources)
			if err != nil {
				for _, e := range config.Errors(err) {
					log.Error("reload refused; keeping the running configuration", "err", e)
				}
			} else if err := sender.Reload(options(nc)); err != nil {
				log.Error("reload refused", "err", err)
			} else {
				if err := logs.Reload(inv.LogOptions(nc)); err != nil {
					log.Error("cannot switch logging; keeping the old destination", "err", err)
				}
				cli.LogWarnings(log, nc)
				c = nc
				keys.Store(c.Keyring())
				tickler.setSchedule(takeover.ScheduleOf(c.AnnounceRepeats, c.AnnounceSpacing))
				log.Info("configuration reloaded", "targets", len(c.BcastIPs), "interval", c.Interval)
			}
			sd.Ready()
			logLinks(log, sender.Links())
			tickler.tickle(ctx, sender.Links())
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

// tickler re-announces this host's own addresses, as the original
// "tickled" its interfaces, so that a primary that comes back is found at
// once rather than when neighbours' ARP caches expire.
type tickler struct {
	log       *slog.Logger
	announcer takeover.Announcer
	mu        sync.Mutex
	schedule  takeover.Schedule
	running   sync.WaitGroup
}

func (t *tickler) setSchedule(s takeover.Schedule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.schedule = s
}

func newTickler(log *slog.Logger, s takeover.Schedule) *tickler {
	a, err := takeover.NewAnnouncer()
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			log.Info("addresses will not be re-announced", "reason", err)
		} else {
			log.Warn("addresses will not be re-announced", "err", err)
		}
	}
	return &tickler{log: log, announcer: a, schedule: s}
}

// tickle announces every address on each Ethernet link that carries
// heartbeats, the link's own and any other public address on it: IPv4
// with gratuitous ARP, IPv6 (global addresses) with a neighbour
// advertisement.
func (t *tickler) tickle(ctx context.Context, links []heartbeat.Link) {
	if t.announcer == nil {
		return
	}
	t.mu.Lock()
	schedule := t.schedule
	t.mu.Unlock()
	seen := map[int]bool{}
	for _, l := range links {
		it := l.Route.Interface
		// Only Ethernet links have neighbours that cache ARP (not lo).
		if l.Route.Kind == netif.NoLink || seen[it.Index] || !it.Up || len(it.MAC) != 6 {
			continue
		}
		seen[it.Index] = true
		ifi := &net.Interface{Index: it.Index, Name: it.Name, HardwareAddr: it.MAC}
		for _, a := range it.Addrs {
			addr := a.Prefix.Addr()
			if !addr.Is4() && !addr.IsGlobalUnicast() {
				continue // link-local addresses are not taken over
			}
			t.running.Add(1)
			go func() {
				defer t.running.Done()
				err := schedule.Run(ctx, t.announcer, ifi, addr)
				switch {
				case errors.Is(err, context.Canceled):
				case err != nil:
					t.log.Warn("re-announce failed", "link", ifi.Name, "addr", addr, "err", err)
				default:
					t.log.Debug("re-announced", "link", ifi.Name, "addr", addr)
				}
			}()
		}
	}
}

// close waits for announcements under way (the caller cancelled their
// context first) and closes the socket.
func (t *tickler) close() {
	t.running.Wait()
	if t.announcer != nil {
		t.announcer.Close()
	}
}
