package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Service holds the service addresses (FAILOVER_SERVICE_IPS) on the
// primary: addresses clients use that are not the host's own, so that
// heartbeatd can let go of them and failoverd take them with one owner
// at every moment.
//
//   - Claim adds them only once nobody else answers for them: asked
//     three times over Wait, no answer. After the secondary's `released`
//     ClaimReleased adds them at once: the secondary said it let go.
//   - While another host answers (the secondary holds them), Run tries
//     again every Retry: a secondary that stopped without a `released`
//     does not keep them away for ever.
//   - Release removes them; heartbeatd calls it before its goodbye, so
//     that failoverd, which waits for the addresses to stop answering,
//     takes them over within milliseconds.
type Service struct {
	Addrs []takeover.Address
	Mover *takeover.Mover
	Asker takeover.Questioner
	Wait  time.Duration // how long unanswered questions take to count
	Retry time.Duration // how often to try again while another host answers
	Log   *slog.Logger

	mu        sync.Mutex // one claim or release at a time
	last      takeover.Answer
	released  bool // Release ran: never add again
	unhealthy bool // the service checks fail: hold nothing until they pass
}

// Yield removes the addresses while the service checks fail: failoverd
// takes them over. Nothing is added again until SetHealthy.
func (s *Service) Yield(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = true
	return s.removeAll(ctx, "the service checks fail")
}

// SetHealthy lets the addresses be claimed again: after the secondary's
// released, or by Run's next try when nobody answers for them.
func (s *Service) SetHealthy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = false
}

// Run hears answers and claims the addresses at start and every Retry
// while they are not held, until ctx ends. It does not remove them: the
// caller calls Release before its goodbye.
func (s *Service) Run(ctx context.Context) error {
	heard := make(chan error, 1)
	go func() { heard <- s.Asker.Run(ctx, s.answered) }()
	t := time.NewTicker(s.Retry)
	defer t.Stop()
	for {
		if s.wantsClaim() {
			if err := s.Claim(ctx); err != nil && ctx.Err() == nil {
				s.Log.Error("cannot add the service addresses", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			err := <-heard
			if ctx.Err() != nil {
				err = nil
			}
			return err
		case err := <-heard:
			return fmt.Errorf("hear who answers for the service addresses: %w", err)
		case <-t.C:
		}
	}
}

func (s *Service) answered(a takeover.Answer) {
	s.mu.Lock()
	s.last = a
	s.mu.Unlock()
}

// wantsClaim: not all held, and nothing keeps them away.
func (s *Service) wantsClaim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.released && !s.unhealthy && len(s.Mover.Holding()) < len(s.Addrs)
}

// Claim adds the addresses if nobody else answers for them.
func (s *Service) Claim(ctx context.Context) error {
	start := time.Now()
	takeover.AskRound(ctx, s.Asker, s.Addrs, s.Wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.last; !a.At.Before(start) {
		s.Log.Info("a service address is answered by another host; waiting for the secondary's released", "addr", a.Addr, "mac", a.MAC.String(), "retry", s.Retry)
		return nil
	}
	return s.add(ctx, "nobody else answers for them")
}

// ClaimReleased adds the addresses at once: the secondary released them.
// Those held already (through a cut cable, both held them; the secondary
// saw it and let go) are announced again, so that clients come back.
func (s *Service) ClaimReleased(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released || s.unhealthy {
		return nil
	}
	var errs []error
	for _, a := range s.Mover.Holding() {
		if err := s.Mover.Announce(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.Info("announced a service address again", "addr", a, "why", "the secondary released it while this host held it too")
	}
	return errors.Join(append(errs, s.add(ctx, "the secondary released them"))...)
}

// add takes every address not held; s.mu is held.
func (s *Service) add(ctx context.Context, why string) error {
	if s.released || s.unhealthy || ctx.Err() != nil {
		return nil
	}
	held := s.Mover.Holding()
	var want []takeover.Address
	for _, a := range s.Addrs {
		if !slices.Contains(held, a) {
			want = append(want, a)
		}
	}
	if len(want) == 0 {
		return nil
	}
	var errs []error
	for i, err := range s.Mover.TakeAll(ctx, want) {
		if err != nil && !errors.Is(err, takeover.ErrNotAnnounced) {
			errs = append(errs, err)
			continue
		}
		s.Log.Info("holding a service address", "addr", want[i], "why", why, "err", err)
	}
	return errors.Join(errs...)
}

// Release removes the addresses, for good: heartbeatd is stopping.
func (s *Service) Release(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = true
	return s.removeAll(ctx, "heartbeatd is stopping")
}

// removeAll removes every held address; s.mu is held.
func (s *Service) removeAll(ctx context.Context, why string) error {
	var errs []error
	for _, a := range s.Mover.Holding() {
		if err := s.Mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.Info("removed a service address", "addr", a, "why", why)
	}
	return errors.Join(errs...)
}
