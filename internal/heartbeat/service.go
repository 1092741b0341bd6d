package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// Mover adds, announces and removes the service addresses
// (takeover.Mover).
type Mover interface {
	TakeAll(ctx context.Context, as []takeover.Address) []error
	Give(ctx context.Context, a takeover.Address) error
	Holding() []takeover.Address
	Announce(ctx context.Context, a takeover.Address) error
}

var _ Mover = (*takeover.Mover)(nil)

// Keys are the arbiter's keys of the service addresses.
type Keys interface {
	// Claim takes ip's key for this host, right before ip is added: nil
	// when this host holds it; an error says why ip may not be added
	// (another host holds the key, the majority cannot be reached).
	Claim(ctx context.Context, ip netip.Addr) error
	// Release frees ip's key once ip is removed (or could not be added).
	Release(ctx context.Context, ip netip.Addr)
}

// Service holds the service addresses on the primary so that they have
// one owner at every moment (the package doc's "Service addresses").
type Service struct {
	Addrs []takeover.Address
	Mover Mover
	Asker neighbor.Asker
	Wait  time.Duration // how long unanswered questions take to count
	// ReleasedWait: how long the questions after the secondary's
	// released take (Wait when zero).
	ReleasedWait time.Duration
	Retry        time.Duration // how often to try again while another host answers, and to ask while holding
	// Window: how long after an add, or a removal for the secondary's
	// holding, the questions go every third of Wait.
	Window time.Duration
	// Patience: how long another host may answer for an address this
	// host wants before a notice (Holders.Patience).
	Patience time.Duration
	// Notify, when set, sends a conflict notice about a.
	Notify func(a takeover.Address, detail string)
	// Keys, when set, are the arbiter's keys of the addresses
	// (FAILOVER_ARBITER): an address is added only once this host holds
	// its key, claimed right before the add, and its key is freed once it
	// is removed. SetKeys sets it before Run.
	Keys Keys
	Log  *slog.Logger

	// mu makes one claim or release at a time and guards the fields
	// below; the methods named …Locked are called with it held.
	mu        waitLock
	others    *Holders
	fastUntil time.Time   // questions every third of Wait until then
	asked     []time.Time // the last two rechecks' questions, oldest first
	released  bool        // Release ran: never add again
	unhealthy bool        // the service checks fail: hold nothing until they pass
	// secondaryHolds: the secondary said holding since its last
	// released or this host's last add.
	secondaryHolds bool
	conflicts      []Conflict // for Run to act on
	kick           chan struct{}
}

// Yield removes the addresses while the service checks fail: failoverd
// takes them over. Nothing is added again until SetHealthy.
func (s *Service) Yield(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = true
	s.holdersLocked().Reset() // the secondary takes them by right: no conflict
	return s.removeAllLocked(ctx, "the service checks fail")
}

// SetHealthy lets the addresses be claimed again: after the secondary's
// released, or by Run's next try when nobody answers for them.
func (s *Service) SetHealthy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = false
}

// holdersLocked is s.others, made on first use.
func (s *Service) holdersLocked() *Holders {
	if s.others == nil {
		s.others = &Holders{Patience: s.Patience}
	}
	return s.others
}

// kickedLocked is the channel that wakes Run for a conflict.
func (s *Service) kickedLocked() chan struct{} {
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	return s.kick
}

// Run hears answers, claims the addresses at start and every Retry
// while they are not held, asks again while they are, and acts on
// conflicts, until ctx ends. It does not remove them at the end: the
// caller calls Release before its goodbye.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	kick := s.kickedLocked()
	s.mu.Unlock()
	heard := make(chan error, 1)
	go func() { heard <- s.Asker.Run(ctx, s.answered) }()
	t := time.NewTimer(0)
	defer t.Stop()
	var next time.Time // of the next round
	for {
		select {
		case <-ctx.Done():
			err := <-heard
			if ctx.Err() != nil {
				err = nil
			}
			return err
		case err := <-heard:
			if ctx.Err() != nil {
				return nil // ended with ctx, before this select saw it
			}
			if err == nil {
				err = errors.New("the listener stopped")
			}
			return fmt.Errorf("hear who answers for the service addresses: %w", err)
		case <-kick:
			s.resolve(ctx)
			// An add after released, or a removal for holding, asks
			// at the fast pace at once.
			if now := time.Now(); now.Add(s.pace(now)).Before(next) {
				next = now.Add(s.pace(now))
				t.Reset(next.Sub(now))
			}
		case <-t.C:
			s.round(ctx)
			now := time.Now()
			next = now.Add(s.pace(now))
			t.Reset(next.Sub(now))
		}
	}
}

// round claims what is not held, or asks again for what is.
func (s *Service) round(ctx context.Context) {
	s.settle()
	if s.wantsClaim() {
		if err := s.Claim(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("cannot add the service addresses", "err", err)
		}
		return
	}
	s.mu.Lock()
	held := s.Mover.Holding()
	s.mu.Unlock()
	if len(held) == 0 {
		return
	}
	now := time.Now()
	if _, err := s.Asker.AskAll(takeover.Questions(held)); err != nil {
		s.Log.Debug("cannot ask who else answers for a service address", "err", err)
	}
	s.mu.Lock()
	s.askedAtLocked(now)
	s.mu.Unlock()
}

// askedAtLocked keeps the time of a round's first question.
func (s *Service) askedAtLocked(t time.Time) {
	s.asked = append(s.asked, t)
	s.asked = s.asked[max(0, len(s.asked)-2):]
}

// pace is the time to the next round: a third of Wait for Window after
// an add, Retry otherwise.
func (s *Service) pace(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.fastUntil) {
		return max(s.Wait/3, time.Millisecond)
	}
	return s.Retry
}

// settle ends the conflicts nobody answers any more (two questions
// unanswered).
func (s *Service) settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var quiet time.Time // zero: too few questions to tell
	if len(s.asked) == 2 {
		quiet = s.asked[0]
	}
	for _, h := range s.holdersLocked().Settle(quiet, s.holdsLocked) {
		s.Log.Info("no other host answers for a service address any more", "addr", h.Addr, "mac", h.MAC)
	}
}

// holdsLocked says this host holds ip.
func (s *Service) holdsLocked(ip netip.Addr) bool {
	return slices.ContainsFunc(s.Mover.Holding(), func(a takeover.Address) bool { return a.Addr() == ip })
}

// maxConflicts bounds the conflicts waiting for Run: one per address
// and holder is all it needs.
const maxConflicts = 64

func (s *Service) answered(a neighbor.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.holdersLocked().Heard(a, s.holdsLocked(a.Addr))
	if !ok {
		return
	}
	if !c.Notice {
		s.Log.Debug("another host still answers for a service address this host holds", "addr", c.Addr, "mac", c.MAC)
		return
	}
	if len(s.conflicts) < maxConflicts {
		s.conflicts = append(s.conflicts, c)
	}
	s.wakeLocked()
}

// wakeLocked has Run act on conflicts and look at its pace again.
func (s *Service) wakeLocked() {
	select {
	case s.kickedLocked() <- struct{}{}:
	default:
	}
}

// resolve says what answered reported: another host answers for an
// address this host holds, which it keeps.
func (s *Service) resolve(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conflicts
	s.conflicts = nil
	for _, c := range cs {
		i := slices.IndexFunc(s.Addrs, func(a takeover.Address) bool { return a.Addr() == c.Addr })
		if i < 0 || !s.holdsLocked(c.Addr) {
			continue
		}
		a := s.Addrs[i]
		s.Log.Warn("conflict: another host answers for a service address this host holds; it is not known to be the secondary, so this host keeps the address",
			"addr", a, "mac", c.MAC)
		s.notify(a, fmt.Sprintf("%s, which this host holds, is answered by %s too, a MAC not known to be the secondary's "+
			"(%s): this host keeps the address, and two hosts answer for it until one lets go: "+
			"another host with the same FAILOVER_SERVICE_IPS, one that claims the address, "+
			"or the secondary, whose signed holding would make this host remove it (it sends one while it holds the addresses and hears this host)",
			a.Addr(), c.MAC, answerVouchesNothing))
	}
}

// answerVouchesNothing says why an answer never names the secondary.
const answerVouchesNothing = "an ARP or neighbour answer says nothing of who sent it; heartbeatd takes the secondary's word only from its signed holding and released"

// SecondaryHolds acts on the secondary's signed `holding`: it holds the
// addresses and hears this host (it took them over while it did not).
// Every held address is removed, as before a goodbye, so that one host
// answers, and the removal is logged and noticed. Run adds them again
// after the secondary's released, or once nobody answers for them: a
// replayed holding costs a round of questions, never the address for
// good.
func (s *Service) SecondaryHolds(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return nil
	}
	s.secondaryHolds = true
	held := s.Mover.Holding()
	if len(held) == 0 {
		s.Log.Debug("the secondary says it holds the service addresses; this host holds none")
		return nil
	}
	var errs []error
	for _, a := range held {
		err := s.Mover.Give(ctx, a)
		s.Log.Warn("conflict: the secondary says it holds a service address this host held (its signed holding); removed it here until the secondary's released",
			"addr", a, "err", err)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.releaseKey(ctx, a)
		s.notify(a, fmt.Sprintf("%s, which this host held, is held by the secondary too: it said so in a signed holding, "+
			"which it sends while it holds the addresses and hears this host (it took them over while it did not). "+
			"This host removed the address, so that one host answers for it, and adds it again on the secondary's released, "+
			"or once nobody answers for it", a.Addr()))
	}
	// Asked again at once: a holding the secondary did not mean (a
	// replay) costs one round of questions.
	s.fastUntil = time.Now().Add(s.Window)
	s.wakeLocked()
	return errors.Join(errs...)
}

// notify sends a conflict notice about a, if there is a notifier.
func (s *Service) notify(a takeover.Address, detail string) {
	if s.Notify != nil {
		s.Notify(a, detail)
	}
}

// wantsClaim: not all held, and nothing keeps them away.
func (s *Service) wantsClaim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.released && !s.unhealthy && len(s.Mover.Holding()) < len(s.Addrs)
}

// Claim adds the addresses if nobody else answers for those not held.
func (s *Service) Claim(ctx context.Context) error {
	start := time.Now()
	neighbor.AskRound(ctx, s.Asker, takeover.Questions(s.Addrs), s.Wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.askedAtLocked(start)
	if s.released || s.unhealthy || s.answeredSinceLocked(start) {
		return nil
	}
	return s.addLocked(ctx, "nobody else answers for them")
}

// answeredSinceLocked says whether another host answered since start for an
// address not held here, and says why this host waits for each.
func (s *Service) answeredSinceLocked(start time.Time) bool {
	now := time.Now()
	answered := false
	for _, a := range s.Addrs {
		if s.holdsLocked(a.Addr()) {
			continue // another host's answer for it is a conflict: see answered
		}
		if _, ok := s.holdersLocked().Answered(a.Addr(), start); ok {
			answered = true
			s.waitLocked(a, now)
		}
	}
	return answered
}

// waitLocked says why a is not added: another host answers for it.
func (s *Service) waitLocked(a takeover.Address, now time.Time) {
	h, first, notice := s.holdersLocked().Wanted(a.Addr(), now)
	level := slog.LevelDebug
	if s.secondaryHolds {
		if first {
			level = slog.LevelInfo
		}
		s.Log.Log(context.Background(), level, "the secondary says it holds the service addresses (its signed holding); waiting for its released", "addr", a, "mac", h.MAC, "retry", s.Retry)
		if notice {
			s.notify(a, fmt.Sprintf("%s is still answered by %s, and the secondary said it holds the service addresses (its signed holding), "+
				"for %s now: this host waits for the secondary's released, or for nobody to answer. The secondary keeps a service address while it hears this host "+
				"with automatic give-back off (failoverctl release gives it back), or when its give-back fails",
				a.Addr(), h.MAC, now.Sub(h.Since).Round(time.Millisecond)))
		}
		return
	}
	if first {
		level = slog.LevelWarn
	}
	s.Log.Log(context.Background(), level, "conflict: another host answers for a service address; it is not known to be the secondary, so this host adds the address only when nobody answers for it",
		"addr", a, "mac", h.MAC, "notice_after", s.Patience, "retry", s.Retry)
	if notice {
		s.notify(a, fmt.Sprintf("%s is answered by %s, a MAC not known to be the secondary's "+
			"(%s), for %s now: "+
			"this host does not add the address while another host answers for it; it adds it when nobody answers "+
			"(the secondary gives a service address back after its hold-down, and says released)",
			a.Addr(), h.MAC, answerVouchesNothing, now.Sub(h.Since).Round(time.Millisecond)))
	}
}

// ClaimReleased acts on the secondary's released: it let go of the
// addresses. Those held already (through a cut cable, both held them;
// the secondary saw it and let go) are announced again, so that clients
// come back; the others are added once nobody answers for them, asked
// three times over ReleasedWait (short: the secondary removed them
// before it said so). A host that answers now is not the one that let
// go, and nothing is added while it does: a released replayed while the
// secondary holds them would otherwise make two owners.
func (s *Service) ClaimReleased(ctx context.Context) error {
	s.mu.Lock()
	if s.released || s.unhealthy {
		s.mu.Unlock()
		return nil
	}
	s.holdersLocked().Released()
	s.secondaryHolds = false
	var errs []error
	held := s.Mover.Holding()
	for _, a := range held {
		if err := s.Mover.Announce(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.Info("announced a service address again", "addr", a, "why", "the secondary released it while this host held it too")
	}
	want := slices.DeleteFunc(slices.Clone(s.Addrs), func(a takeover.Address) bool { return slices.Contains(held, a) })
	s.mu.Unlock()
	if len(want) == 0 {
		return errors.Join(errs...)
	}
	start := time.Now()
	wait := s.ReleasedWait
	if wait <= 0 {
		wait = s.Wait
	}
	neighbor.AskRound(ctx, s.Asker, takeover.Questions(want), wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.askedAtLocked(start)
	if s.released || s.unhealthy {
		return errors.Join(errs...)
	}
	if s.answeredSinceLocked(start) {
		s.Log.Warn("the secondary said released, but another host answers for a service address: it is not the host that let go, so this host adds nothing while it answers",
			"asked_for", wait)
		return errors.Join(errs...)
	}
	err := s.addLocked(ctx, "the secondary released them, and nobody else answers for them")
	s.wakeLocked() // Run asks again at the fast pace
	return errors.Join(append(errs, err)...)
}

// addLocked takes every address not held.
func (s *Service) addLocked(ctx context.Context, why string) error {
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
	want = s.claimKeysLocked(ctx, want)
	if len(want) == 0 {
		return nil
	}
	var errs []error
	for i, err := range s.Mover.TakeAll(ctx, want) {
		if err != nil && !errors.Is(err, takeover.ErrNotAnnounced) {
			errs = append(errs, err)
			s.releaseKey(ctx, want[i])
			continue
		}
		s.holdersLocked().Added(want[i].Addr())
		s.secondaryHolds = false
		s.fastUntil = time.Now().Add(s.Window)
		s.Log.Info("holding a service address", "addr", want[i], "why", why, "err", err)
	}
	return errors.Join(errs...)
}

// Release removes the addresses, for good: heartbeatd is stopping.
func (s *Service) Release(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = true
	return s.removeAllLocked(ctx, "heartbeatd is stopping")
}

// removeAllLocked removes every held address, and frees its key.
func (s *Service) removeAllLocked(ctx context.Context, why string) error {
	var errs []error
	for _, a := range s.Mover.Holding() {
		if err := s.Mover.Give(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Log.Info("removed a service address", "addr", a, "why", why)
		s.releaseKey(ctx, a)
	}
	return errors.Join(errs...)
}
