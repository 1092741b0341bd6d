package heartbeat

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/ipfailover/ipfailover/internal/takeover"
)

// SetKeys has the addresses added only under the arbiter's keys (the
// Keys field); call it before Run.
func (s *Service) SetKeys(k Keys) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Keys = k
}

// claimKeysLocked claims the key of each address of want, right before
// it is added, and returns those this host holds the key of: all of
// want without an arbiter.
func (s *Service) claimKeysLocked(ctx context.Context, want []takeover.Address) []takeover.Address {
	if s.Keys == nil {
		return want
	}
	var out []takeover.Address
	for _, a := range want {
		if err := s.Keys.Claim(ctx, a.Addr()); err != nil {
			s.Log.Debug("not adding a service address: its key in the arbiter is not this host's", "addr", a, "why", err)
			continue
		}
		out = append(out, a)
	}
	return out
}

// releaseKey frees a's key, once a is gone from this host.
func (s *Service) releaseKey(ctx context.Context, a takeover.Address) {
	if s.Keys != nil {
		s.Keys.Release(ctx, a.Addr())
	}
}

// Held are the service addresses this host holds now.
func (s *Service) Held() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for _, a := range s.Mover.Holding() {
		out = append(out, a.Addr())
	}
	return out
}

// LetGo removes the held addresses among ips (all of them when ips is
// empty) without freeing their keys, for the arbiter: this host's lease
// passed its deadline unrenewed (the keys go with it), or the arbiter
// names another holder. Run claims them again, keys first, when it can.
func (s *Service) LetGo(ctx context.Context, why string, ips ...netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, a := range s.Mover.Holding() {
		if len(ips) > 0 && !slices.Contains(ips, a.Addr()) {
			continue
		}
		if err := s.Mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.Warn("removed a service address", "addr", a, "why", why)
	}
	return errors.Join(errs...)
}

// FreeKeys frees the key of each address this host does not hold whose
// key mine says it holds: a release lost in a blip (on a removal for the
// service checks, for the secondary's holding) would otherwise keep the
// address from failoverd for as long as heartbeatd lives. Under the
// lock, so never between a claim and its add.
func (s *Service) FreeKeys(ctx context.Context, mine func(netip.Addr) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Keys == nil {
		return
	}
	held := s.Mover.Holding()
	for _, a := range s.Addrs {
		if !slices.Contains(held, a) && mine(a.Addr()) {
			s.Keys.Release(ctx, a.Addr())
		}
	}
}
