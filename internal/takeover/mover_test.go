package takeover

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

func newMover(f *Fake) *Mover {
	return &Mover{Manager: f, Announcer: f, Schedule: neighbor.ScheduleOf(3, time.Second)}
}

func count(calls []string, want string) int {
	n := 0
	for _, c := range calls {
		if c == want {
			n++
		}
	}
	return n
}

func TestTakeAnnouncesBurstThenRepeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		m := newMover(f)
		a := addr("eth0", "198.51.100.1/32")
		if err := m.Take(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		calls := f.Calls()
		if !slices.Equal(calls, []string{"acquire eth0:198.51.100.1/32", "announce eth0:198.51.100.1", "announce eth0:198.51.100.1"}) {
			t.Fatalf("Take must add, then announce the burst before returning: %q", calls)
		}
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := count(f.Calls(), "announce eth0:198.51.100.1"); n != 3 {
			t.Fatalf("%d repeats, want 3", n)
		}
	})
}

func TestGiveStopsRepeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		m := newMover(f)
		a := addr("eth0", "198.51.100.1/32")
		_ = m.Take(t.Context(), a)
		f.Calls()
		if err := m.Give(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if calls := f.Calls(); !slices.Equal(calls, []string{"release eth0:198.51.100.1/32"}) {
			t.Fatalf("after Give: %q", calls)
		}
		if len(m.Holding()) != 0 {
			t.Fatal("still holding")
		}
	})
}

func TestCheckRestoresVanished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		m := newMover(f)
		m.Schedule.Repeats = 0
		a, b := addr("eth0", "198.51.100.1/32"), addr("eth0", "203.0.113.1/24")
		for _, x := range []Address{a, b} {
			if err := m.Take(t.Context(), x); err != nil {
				t.Fatal(err)
			}
		}
		f.Calls()
		restored, err := m.Check(t.Context())
		if err != nil || len(restored) != 0 || len(f.Calls()) != 0 {
			t.Fatalf("nothing vanished, yet: %v %v", restored, err)
		}
		f.Drop(b.Addr())
		ctx, cancel := context.WithCancel(t.Context())
		go m.Keep(ctx, 500*time.Millisecond)
		time.Sleep(600 * time.Millisecond)
		synctest.Wait()
		if calls := f.Calls(); !slices.Equal(calls, []string{"acquire eth0:203.0.113.1/24", "announce eth0:203.0.113.1", "announce eth0:203.0.113.1"}) {
			t.Fatalf("within one period the vanished address must be re-added and announced: %q", calls)
		}
		cancel()
	})
}

func TestRefreshAnnouncesWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := NewFake()
		m := newMover(f)
		m.Schedule.Repeats = 0
		m.Refresh = 10 * time.Second
		a := addr("eth0", "198.51.100.1/32")
		_ = m.Take(t.Context(), a)
		f.Calls()
		ctx, cancel := context.WithCancel(t.Context())
		go m.Keep(ctx, time.Hour)
		time.Sleep(35 * time.Second)
		synctest.Wait()
		if n := count(f.Calls(), "announce eth0:198.51.100.1"); n != 3 {
			t.Fatalf("%d refreshes in 35s at 10s, want 3", n)
		}
		cancel()
	})
}

func TestTakeErrors(t *testing.T) {
	f := NewFake()
	m := newMover(f)
	boom := errors.New("boom")
	f.Fail(netip.MustParseAddr("198.51.100.9"), boom)
	if err := m.Take(context.Background(), addr("eth0", "198.51.100.9/32")); !errors.Is(err, boom) {
		t.Fatalf("acquire error lost: %v", err)
	}
	if len(m.Holding()) != 0 {
		t.Fatal("a failed take is not held")
	}
	err := m.Take(context.Background(), addr("eth9", "198.51.100.8/32"))
	if !errors.Is(err, ErrNoInterface) || !errors.Is(err, ErrNotAnnounced) {
		t.Fatalf("announce on a missing interface: %v", err)
	}
	if !slices.Contains(m.Holding(), addr("eth9", "198.51.100.8/32")) {
		t.Fatal("added but not announced is still held (and kept by Check)")
	}
}

// blockingHeld lets a test hold Check inside Held.
type blockingHeld struct {
	*Fake
	entered, release chan struct{}
}

func (b blockingHeld) Held(ctx context.Context, set []Address) ([]Address, error) {
	close(b.entered)
	<-b.release
	return b.Fake.Held(ctx, set)
}

// A Give while a Check runs must not be undone by the Check.
func TestCheckDoesNotUndoGive(t *testing.T) {
	f := NewFake()
	m := newMover(f)
	m.Schedule.Repeats = 0
	a := addr("eth0", "198.51.100.1/32")
	if err := m.Take(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	f.Drop(a.Addr()) // vanished: Check would restore it
	bh := blockingHeld{Fake: f, entered: make(chan struct{}), release: make(chan struct{})}
	m.Manager = bh
	checked := make(chan struct{})
	go func() { _, _ = m.Check(context.Background()); close(checked) }()
	<-bh.entered
	gave := make(chan struct{})
	go func() { _ = m.Give(context.Background(), a); close(gave) }()
	close(bh.release)
	<-checked
	<-gave
	if got, _ := f.Held(context.Background(), []Address{a}); len(got) != 0 || len(m.Holding()) != 0 {
		t.Fatalf("given back, yet held: host %v, mover %v", got, m.Holding())
	}
}
