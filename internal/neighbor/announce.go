package neighbor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Announcer sends one gratuitous announcement of ip on ifi: for IPv4 an
// ARP request and an ARP reply.
type Announcer interface {
	Announce(ifi *net.Interface, ip netip.Addr) error
	Close() error
}

// OpenAnnouncer is NewAnnouncer for a daemon: where announcing cannot
// work here it logs why, under the message consequence (what the
// administrator loses), and returns nil.
func OpenAnnouncer(log *slog.Logger, consequence string) Announcer {
	a, err := NewAnnouncer()
	if err != nil {
		logUnavailable(log, consequence, err)
		return nil
	}
	return a
}

// logUnavailable says why a socket of this package could not be opened:
// as information where the system has no such thing, as a warning
// otherwise (a missing capability).
func logUnavailable(log *slog.Logger, consequence string, err error) {
	if errors.Is(err, errors.ErrUnsupported) {
		log.Info(consequence, "reason", err)
	} else {
		log.Warn(consequence, "err", err)
	}
}

// Schedule says how an address is announced: Burst announcements at once,
// then Repeats more, Spacing apart (some switches and kernels ignore the
// first ones).
type Schedule struct {
	Burst   int
	Repeats int
	Spacing time.Duration
}

// ScheduleOf is the schedule FAILOVER_ANNOUNCE_REPEATS and
// FAILOVER_ANNOUNCE_SPACING ask for: a first burst of two, then repeats
// more, spacing apart.
func ScheduleOf(repeats int, spacing time.Duration) Schedule {
	return Schedule{Burst: 2, Repeats: repeats, Spacing: spacing}
}

// Run announces ip on ifi by schedule s until done or ctx ends. It returns
// the first error, or ctx's error when cut short; a failure is not
// retried, since the next announcement would fail the same way.
func (s Schedule) Run(ctx context.Context, a Announcer, ifi *net.Interface, ip netip.Addr) error {
	for range s.Burst {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.Announce(ifi, ip); err != nil {
			return err
		}
	}
	if s.Repeats <= 0 || s.Spacing <= 0 {
		return nil
	}
	t := time.NewTicker(s.Spacing)
	defer t.Stop()
	for range s.Repeats {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := a.Announce(ifi, ip); err != nil {
			return err
		}
	}
	return nil
}
