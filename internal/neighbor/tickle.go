package neighbor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/ipfailover/ipfailover/internal/netif"
)

// Tickler re-announces this host's own addresses, as the original
// heartbeatd "tickled" its interfaces, so that a primary that comes back
// is found at once rather than when neighbours' ARP caches expire.
type Tickler struct {
	log       *slog.Logger
	announcer Announcer
	mu        sync.Mutex
	schedule  Schedule
	running   sync.WaitGroup
}

// SetSchedule changes the schedule of the announcements that start
// after it (a reload).
func (t *Tickler) SetSchedule(s Schedule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.schedule = s
}

// NewTickler opens the announcer; where announcing cannot work it says
// why, and Tickle does nothing.
func NewTickler(log *slog.Logger, s Schedule) *Tickler {
	return NewTicklerWith(log, OpenAnnouncer(log, "addresses will not be re-announced"), s)
}

// NewTicklerWith announces with a (nil: Tickle does nothing).
func NewTicklerWith(log *slog.Logger, a Announcer, s Schedule) *Tickler {
	return &Tickler{log: log, announcer: a, schedule: s}
}

// Tickle announces every address of each Ethernet interface in ifs (the
// links that carry heartbeats): IPv4 with gratuitous ARP, IPv6 (global
// addresses) with a neighbour advertisement.
func (t *Tickler) Tickle(ctx context.Context, ifs []netif.Interface) {
	if t.announcer == nil {
		return
	}
	t.mu.Lock()
	schedule := t.schedule
	t.mu.Unlock()
	seen := map[int]bool{}
	for _, it := range ifs {
		// Only Ethernet links have neighbours that cache ARP (not lo).
		if seen[it.Index] || !it.Up || len(it.MAC) != 6 {
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

// Close waits for announcements under way (the caller cancelled their
// context first) and closes the socket.
func (t *Tickler) Close() {
	t.running.Wait()
	if t.announcer != nil {
		t.announcer.Close()
	}
}
