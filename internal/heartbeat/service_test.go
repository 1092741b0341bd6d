package heartbeat

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// link answers every question for an address while owner is set, as a
// host that holds it would.
type link struct {
	mu      sync.Mutex
	owner   net.HardwareAddr
	answers chan neighbor.Answer
	asked   int // questions, one per address
}

func (l *link) AskAll(qs []neighbor.Question) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked += len(qs)
	for _, q := range qs {
		if l.owner != nil {
			l.answers <- neighbor.Answer{At: time.Now(), Addr: q.Addr, Interface: q.Interface, MAC: l.owner}
		}
	}
	return len(qs), nil
}

// Watch, Drain and Close: the service asks only for its addresses, and
// the fake's answers wait in no socket queue.
func (l *link) Watch(netip.Addr) error { return nil }
func (l *link) Drain()                 {}
func (l *link) Close() error           { return nil }

func (l *link) Run(ctx context.Context, answer func(neighbor.Answer)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-l.answers:
			answer(a)
		}
	}
}

func (l *link) questions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.asked
}

func (l *link) setOwner(mac net.HardwareAddr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner = mac
}

// The service address: added only once nobody answers, at once after
// released, removed for good by Release.
func TestServiceHoldsOnlyWhatNobodyElseAnswersFor(t *testing.T) {
	addr := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}
	l := &link{answers: make(chan neighbor.Answer, 16), owner: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	mgr := takeover.NewFake()
	s := &Service{Addrs: []takeover.Address{addr}, Mover: &takeover.Mover{Manager: mgr}, Asker: l,
		Wait: 20 * time.Millisecond, Retry: time.Hour, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx, s.answered) }()
	held := func() bool {
		h, _ := mgr.Held(ctx, s.Addrs)
		return len(h) == 1
	}

	// The secondary holds it: not added.
	if err := s.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	if held() {
		t.Fatal("added while the secondary answers for it")
	}
	// The secondary released it.
	l.setOwner(nil)
	if err := s.ClaimReleased(ctx); err != nil || !held() {
		t.Fatalf("after released: held %v, err %v", held(), err)
	}
	// Stopping: removed, and never added again.
	if err := s.Release(ctx); err != nil || held() {
		t.Fatalf("after Release: held %v, err %v", held(), err)
	}
	if err := s.Claim(ctx); err != nil || held() {
		t.Fatalf("a claim after Release: held %v, err %v", held(), err)
	}
	if err := s.ClaimReleased(ctx); err != nil || held() {
		t.Fatalf("released after Release: held %v, err %v", held(), err)
	}
}

// Nobody answers at start: added.
func TestServiceClaimsAFreeAddress(t *testing.T) {
	addr := takeover.Address{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}
	l := &link{answers: make(chan neighbor.Answer, 16)}
	mgr := takeover.NewFake()
	s := &Service{Addrs: []takeover.Address{addr}, Mover: &takeover.Mover{Manager: mgr}, Asker: l,
		Wait: 10 * time.Millisecond, Retry: time.Hour, Log: slog.New(slog.DiscardHandler)}
	if err := s.Claim(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h, _ := mgr.Held(context.Background(), s.Addrs); len(h) != 1 {
		t.Fatal("a free service address was not added")
	}
}

// stoppingLink is a link whose listener, a moment after ctx ends,
// reports its socket closed, as a real one may.
type stoppingLink struct{ *link }

func (l stoppingLink) Run(ctx context.Context, answer func(neighbor.Answer)) error {
	_ = l.link.Run(ctx, answer)
	time.Sleep(time.Millisecond)
	return net.ErrClosed
}

// failedListener is a link whose listener stops at once with err.
type failedListener struct {
	*link
	err error
}

func (l failedListener) Run(context.Context, func(neighbor.Answer)) error { return l.err }

// Stopping the service is not an error, whatever its listener says as
// it closes.
func TestStoppingTheServiceIsNotAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil, func(s *Service) { s.Asker = stoppingLink{s.Asker.(*link)} })
		time.Sleep(time.Second)
		r.stop() // fails the test if Run returns an error
	})
}

// A listener that stops while the service runs stops the service, which
// says why: the listener's error, or that it stopped.
func TestTheServiceStopsWhenItsListenerStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, listenErr := range []error{syscall.ENOBUFS, nil} {
			s := &Service{Addrs: []takeover.Address{{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}},
				Mover: &takeover.Mover{Manager: takeover.NewFake()}, Asker: failedListener{&link{answers: make(chan neighbor.Answer, 16)}, listenErr},
				Wait: 300 * time.Millisecond, Retry: 2 * time.Second, Log: slog.New(slog.DiscardHandler)}
			err := s.Run(t.Context())
			if listenErr != nil && !errors.Is(err, listenErr) {
				t.Fatalf("Run returned %v, want the listener's error %v", err, listenErr)
			}
			if listenErr == nil && (err == nil || !strings.Contains(err.Error(), "the listener stopped")) {
				t.Fatalf("Run returned %v, want an error saying the listener stopped", err)
			}
		}
	})
}

// While its adds and questions work the service logs no failure.
func TestTheServiceLogsNoFailureWhileItsAddsAndQuestionsWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil)
		defer r.stop()
		time.Sleep(10 * time.Second) // the add, then questions every 2 s
		if !r.held() || r.link.questions() < 6 {
			t.Fatalf("held %v after %d questions, want the address held and asked after", r.held(), r.link.questions())
		}
		if out := r.log.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "cannot") {
			t.Fatalf("a failure logged while all works:\n%s", out)
		}
	})
}

// An add that fails is logged as an error, with the reason.
func TestTheServiceLogsAnAddThatFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil, func(s *Service) {
			s.Mover.(*takeover.Mover).Manager.(*takeover.Fake).Fail(s.Addrs[0].Addr(), syscall.EPERM)
		})
		defer r.stop()
		time.Sleep(time.Second)
		if r.held() {
			t.Fatal("held although the add fails")
		}
		if out := r.log.String(); !strings.Contains(out, `level=ERROR msg="cannot add the service addresses"`) || !strings.Contains(out, syscall.EPERM.Error()) {
			t.Fatalf("the failed add is not logged with its reason:\n%s", out)
		}
	})
}

// heldService is a Service without Run (nothing acts on its conflicts
// until the test calls resolve) holding its one address, with the
// notices it sent.
func heldService(t *testing.T) (*Service, *takeover.Fake, *[]string) {
	t.Helper()
	mgr := takeover.NewFake()
	notices := &[]string{}
	s := &Service{Addrs: []takeover.Address{{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}},
		Mover: &takeover.Mover{Manager: mgr}, Asker: &link{answers: make(chan neighbor.Answer, 16)},
		Wait: 300 * time.Millisecond, Retry: 2 * time.Second, Patience: 10 * time.Second, Log: slog.New(slog.DiscardHandler),
		Notify: func(a takeover.Address, detail string) { *notices = append(*notices, detail) }}
	if err := s.Claim(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := s.Mover.Holding(); len(h) != 1 {
		t.Fatal("a free address was not added")
	}
	return s, mgr, notices
}

// A flood of answers from ever new MACs while Run is busy queues at
// most 64 conflicts: 64 notices, not one per forged MAC.
func TestAFloodOfAnswersQueuesAtMost64Conflicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, notices := heldService(t)
		for i := range 100 {
			s.answered(neighbor.Answer{At: time.Now(), Addr: s.Addrs[0].Addr(), Interface: "pub0", MAC: net.HardwareAddr{2, 0, 0, 0, 1, byte(i)}})
		}
		s.resolve(t.Context())
		if n := len(*notices); n != maxConflicts {
			t.Fatalf("%d notices after answers from 100 MACs, want %d", n, maxConflicts)
		}
	})
}

// A conflict heard just before the address was removed (the
// secondary's holding came first) is not noticed as one where this
// host keeps the address.
func TestAConflictOverAnAddressRemovedMeanwhileIsNotNoticed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, notices := heldService(t)
		s.answered(neighbor.Answer{At: time.Now(), Addr: s.Addrs[0].Addr(), Interface: "pub0", MAC: secondaryHW})
		if err := s.SecondaryHolds(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.resolve(t.Context())
		if len(*notices) != 1 || strings.Contains((*notices)[0], "keeps the address") {
			t.Fatalf("notices %q, want the holding's alone", *notices)
		}
	})
}

// While the service checks fail the service removes the addresses, says
// so, and asks nothing: the secondary holds them by right.
func TestWhileTheChecksFailTheServiceAsksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil)
		defer r.stop()
		time.Sleep(time.Second)
		if err := r.Yield(context.Background()); err != nil || r.held() {
			t.Fatalf("after Yield: held %v, err %v", r.held(), err)
		}
		if !strings.Contains(r.log.String(), `msg="removed a service address" addr=pub0:198.51.100.1/32 why="the service checks fail"`) {
			t.Fatalf("the removal is not logged:\n%s", r.log)
		}
		asked := r.link.questions()
		time.Sleep(10 * time.Second)
		if q := r.link.questions() - asked; q != 0 || r.held() {
			t.Fatalf("%d questions, held %v while the checks fail; want none", q, r.held())
		}
	})
}

// Release removes the addresses and says so; one it cannot remove is
// its error, and not said to be removed.
func TestReleaseSaysWhatItRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil)
		defer r.stop()
		time.Sleep(time.Second)
		if err := r.Release(context.Background()); err != nil || r.held() {
			t.Fatalf("after Release: held %v, err %v", r.held(), err)
		}
		if !strings.Contains(r.log.String(), `msg="removed a service address" addr=pub0:198.51.100.1/32 why="heartbeatd is stopping"`) {
			t.Fatalf("the removal is not logged:\n%s", r.log)
		}

		s, mgr, _ := heldService(t)
		logs := &syncLog{}
		s.Log = slog.New(slog.NewTextHandler(logs, nil))
		mgr.Fail(s.Addrs[0].Addr(), syscall.EPERM)
		if err := s.Release(t.Context()); !errors.Is(err, syscall.EPERM) {
			t.Fatalf("Release returned %v, want the removal's error", err)
		}
		if strings.Contains(logs.String(), "removed a service address") {
			t.Fatalf("an address that could not be removed is said to be:\n%s", logs)
		}
	})
}

// The service checks fail while a claim asks who answers, and the
// secondary takes the address over and answers: the claim ends quietly,
// without a conflict (the secondary holds it by right).
func TestChecksFailingDuringAClaimEndItQuietly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, nil) // its first round asks from 0 to 300 ms
		defer r.stop()
		time.Sleep(50 * time.Millisecond)
		if err := r.Yield(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.link.setOwner(secondaryHW)
		time.Sleep(time.Second)
		if r.held() {
			t.Fatal("added while the checks fail")
		}
		if out := r.log.String(); strings.Contains(out, "conflict") {
			t.Fatalf("a conflict logged over an address given up:\n%s", out)
		}
	})
}

// The same during the questions after the secondary's released.
func TestChecksFailingAfterAReleasedEndItsQuestionsQuietly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, secondaryHW)
		defer r.stop()
		time.Sleep(time.Second)
		r.link.setOwner(nil) // the secondary gives the address back
		done := make(chan error, 1)
		go func() { done <- r.ClaimReleased(context.Background()) }() // asks over Wait, 300 ms
		time.Sleep(50 * time.Millisecond)
		if err := r.Yield(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.link.setOwner(secondaryHW) // and takes it over again
		if err := <-done; err != nil || r.held() {
			t.Fatalf("ClaimReleased: held %v, err %v", r.held(), err)
		}
		if out := r.log.String(); strings.Contains(out, "the secondary said released, but another host answers") {
			t.Fatalf("the secondary's answers for what this host gave up are called another host's:\n%s", out)
		}
	})
}

// A released heard after Release, or while the checks fail, asks
// nothing and adds nothing.
func TestAReleasedAfterReleaseOrWhileTheChecksFailAsksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, stop := range []func(*running) error{
			func(r *running) error { return r.Release(context.Background()) },
			func(r *running) error { return r.Yield(context.Background()) },
		} {
			r := startService(t, secondaryHW)
			time.Sleep(time.Second)
			if err := stop(r); err != nil {
				t.Fatal(err)
			}
			r.link.setOwner(nil)
			asked := r.link.questions()
			if err := r.ClaimReleased(context.Background()); err != nil || r.held() {
				t.Fatalf("ClaimReleased: held %v, err %v", r.held(), err)
			}
			if q := r.link.questions() - asked; q != 0 {
				t.Fatalf("%d questions for a released after Release or Yield, want none", q)
			}
			r.stop()
		}
	})
}

// With ReleasedWait unset, the questions after a released take Wait.
func TestTheQuestionsAfterAReleasedTakeWaitByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startService(t, secondaryHW)
		defer r.stop()
		time.Sleep(time.Second)
		asked, start := r.link.questions(), time.Now()
		if err := r.ClaimReleased(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took, q := time.Since(start), r.link.questions()-asked; took != r.Wait || q != 3 {
			t.Fatalf("ClaimReleased took %v and asked %d questions, want 3 over Wait (%v)", took, q, r.Wait)
		}
	})
}

// A claim cut short by the stop (its context ends while it asks) adds
// nothing.
func TestAClaimCutShortByTheStopAddsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mgr := takeover.NewFake()
		s := &Service{Addrs: []takeover.Address{{Interface: "pub0", Prefix: netip.MustParsePrefix("198.51.100.1/32")}},
			Mover: &takeover.Mover{Manager: mgr}, Asker: &link{answers: make(chan neighbor.Answer, 16)},
			Wait: 300 * time.Millisecond, Retry: 2 * time.Second, Log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Claim(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if h, _ := mgr.Held(t.Context(), s.Addrs); len(h) != 0 {
			t.Fatal("a claim whose context ended while it asked added the address")
		}
	})
}
