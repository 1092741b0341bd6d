package heartbeat

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
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
