package takeover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// Mover takes addresses over and gives them back: the Manager adds or
// removes them, the Announcer tells the link. It also keeps what it took:
// Check re-adds and re-announces a held address that vanished.
type Mover struct {
	Manager   Manager
	Announcer neighbor.Announcer // nil: the system announces by itself, or cannot
	Schedule  neighbor.Schedule
	// Refresh, when positive, re-announces held addresses this often.
	Refresh time.Duration
	Log     *slog.Logger

	// op serialises Take, Give and Check, so that a Check cannot restore
	// an address that a Give is removing.
	op sync.Mutex

	mu   sync.Mutex
	held []Address
	// cancels stops the repeats of an address's announcement.
	cancels map[Address]context.CancelFunc
	repeats sync.WaitGroup
}

// ErrNotAnnounced wraps an announcement failure after the address was
// added: the address is held (and kept by Check), but neighbours may not
// know yet.
var ErrNotAnnounced = errors.New("address added but not announced")

// Take acquires a and announces it: the first burst goes out before Take
// returns, the repeats follow in the background until they are done,
// ctx ends, or the address is given back. An error wrapping
// ErrNotAnnounced means the address is held all the same.
func (m *Mover) Take(ctx context.Context, a Address) error {
	m.op.Lock()
	defer m.op.Unlock()
	return m.take(ctx, a)
}

func (m *Mover) take(ctx context.Context, a Address) error {
	return m.takeAll(ctx, []Address{a})[0]
}

// TakeAll takes many addresses at once: all are added first, then each
// is announced (its burst before TakeAll returns), so that the last of
// many addresses is announced a few milliseconds after the first, not
// after as many netlink round trips as there are addresses. errs[i] is
// as[i]'s error, as Take's.
func (m *Mover) TakeAll(ctx context.Context, as []Address) []error {
	m.op.Lock()
	defer m.op.Unlock()
	return m.takeAll(ctx, as)
}

func (m *Mover) takeAll(ctx context.Context, as []Address) []error {
	errs := m.Manager.AcquireAll(ctx, as)
	m.mu.Lock()
	for i, a := range as {
		if errs[i] == nil && !slices.Contains(m.held, a) {
			m.held = append(m.held, a)
		}
	}
	m.mu.Unlock()
	ifis := map[string]*net.Interface{}
	for i, a := range as {
		if errs[i] != nil {
			continue
		}
		ifi, ok := ifis[a.Interface]
		if !ok && m.Announcer != nil {
			var err error
			if ifi, err = m.Manager.Interface(a.Interface); err != nil {
				errs[i] = fmt.Errorf("%w: %w", ErrNotAnnounced, err)
				continue
			}
			ifis[a.Interface] = ifi
		}
		if err := m.announce(ctx, ifi, a); err != nil {
			errs[i] = fmt.Errorf("%w: %w", ErrNotAnnounced, err)
		}
	}
	return errs
}

// announce sends the burst now and the repeats in the background.
func (m *Mover) announce(ctx context.Context, ifi *net.Interface, a Address) error {
	if m.Announcer == nil {
		return nil
	}
	burst := m.Schedule
	burst.Repeats = 0
	if err := burst.Run(ctx, m.Announcer, ifi, a.Addr()); err != nil {
		return fmt.Errorf("announce %s: %w", a, err)
	}
	if m.Schedule.Repeats == 0 {
		return nil
	}
	rctx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	if m.cancels == nil {
		m.cancels = map[Address]context.CancelFunc{}
	}
	if old := m.cancels[a]; old != nil {
		old()
	}
	m.cancels[a] = cancel
	m.repeats.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.repeats.Done()
		defer cancel()
		repeats := m.Schedule
		repeats.Burst = 0
		err := repeats.Run(rctx, m.Announcer, ifi, a.Addr())
		if err != nil && !errors.Is(err, context.Canceled) && m.Log != nil {
			m.Log.Warn("announce repeat failed", "addr", a, "err", err)
		}
	}()
	return nil
}

// Announce announces a held address again, as Take does: the burst now,
// the repeats in the background.
func (m *Mover) Announce(ctx context.Context, a Address) error {
	m.op.Lock()
	defer m.op.Unlock()
	if m.Announcer == nil {
		return nil
	}
	ifi, err := m.Manager.Interface(a.Interface)
	if err != nil {
		return err
	}
	return m.announce(ctx, ifi, a)
}

// Give stops announcing a and releases it.
func (m *Mover) Give(ctx context.Context, a Address) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	m.held = slices.DeleteFunc(m.held, func(h Address) bool { return h == a })
	if cancel := m.cancels[a]; cancel != nil {
		cancel()
		delete(m.cancels, a)
	}
	m.mu.Unlock()
	return m.Manager.Release(ctx, a)
}

// Holding returns the addresses taken and not given back.
func (m *Mover) Holding() []Address {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.held)
}

// Adopt records addresses the host held already (after a crash), so that
// Check keeps them, without adding them again.
func (m *Mover) Adopt(as ...Address) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range as {
		if !slices.Contains(m.held, a) {
			m.held = append(m.held, a)
		}
	}
}

// Wait waits for announcement repeats under way; cancel their context
// (or Give the addresses) first. Close the Announcer only after it.
func (m *Mover) Wait() { m.repeats.Wait() }

// Check re-adds and re-announces every held address that vanished from
// the host, and returns those it restored.
func (m *Mover) Check(ctx context.Context) ([]Address, error) {
	m.op.Lock()
	defer m.op.Unlock()
	want := m.Holding()
	if len(want) == 0 {
		return nil, nil
	}
	present, err := m.Manager.Held(ctx, want)
	if err != nil {
		return nil, err
	}
	var restored []Address
	var errs []error
	for _, a := range want {
		if slices.Contains(present, a) {
			continue
		}
		if err := m.take(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("restore %s: %w", a, err))
			continue
		}
		restored = append(restored, a)
		if m.Log != nil {
			m.Log.Warn("held address had vanished from the host; added and announced it again", "addr", a)
		}
	}
	return restored, errors.Join(errs...)
}

// Keep runs Check every period and, with Refresh set, re-announces the
// held addresses every Refresh, until ctx ends.
func (m *Mover) Keep(ctx context.Context, period time.Duration) {
	check := time.NewTicker(period)
	defer check.Stop()
	var refresh <-chan time.Time
	if m.Refresh > 0 {
		t := time.NewTicker(m.Refresh)
		defer t.Stop()
		refresh = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			if _, err := m.Check(ctx); err != nil && m.Log != nil {
				m.Log.Error("reconcile failed", "err", err)
			}
		case <-refresh:
			for _, a := range m.Holding() {
				if err := m.refreshOne(ctx, a); err != nil && m.Log != nil {
					m.Log.Warn("refresh announce failed", "addr", a, "err", err)
				}
			}
		}
	}
}

func (m *Mover) refreshOne(ctx context.Context, a Address) error {
	if m.Announcer == nil {
		return nil
	}
	ifi, err := m.Manager.Interface(a.Interface)
	if err != nil {
		return err
	}
	once := neighbor.Schedule{Burst: 1}
	return once.Run(ctx, m.Announcer, ifi, a.Addr())
}
