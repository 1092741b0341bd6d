package notify

import (
	"github.com/ipfailover/ipfailover/internal/notice"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is a log destination the test may read while goroutines write.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func testLogger() (*slog.Logger, *syncBuf) {
	buf := &syncBuf{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// recorder records the events it gets; with a gate it blocks in Notify
// until the gate is closed or its context is cancelled.
type recorder struct {
	name string
	gate chan struct{}
	err  error

	mu     sync.Mutex
	got    []Notice
	cancel int // deliveries that ended because ctx was cancelled
}

func (r *recorder) String() string { return r.name }

func (r *recorder) Notify(ctx context.Context, e Notice) error {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			r.mu.Lock()
			r.cancel++
			r.mu.Unlock()
			return ctx.Err()
		}
	}
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
	return r.err
}

func (r *recorder) details() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d []string
	for _, e := range r.got {
		d = append(d, e.Detail)
	}
	return d
}

func numbered(i int) Notice {
	e := sampleNotice()
	e.Detail = fmt.Sprint(i)
	return e
}

func inOrder(t *testing.T, name string, got []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		var a, b int
		fmt.Sscan(got[i-1], &a)
		fmt.Sscan(got[i], &b)
		if b <= a {
			t.Fatalf("%s got events out of order: %v", name, got)
		}
	}
}

func TestAsyncDoesNotBlock(t *testing.T) {
	log, logs := testLogger()
	hung := &recorder{name: "hung", gate: make(chan struct{})}
	fast := &recorder{name: "fast"}
	a := NewAsync(log, hung, fast)

	start := time.Now()
	for i := range 100 {
		a.Notify(numbered(i))
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("100 Notify calls with a hung notifier took %v", d)
	}
	// The hung notifier holds one event and its queue; the rest are dropped
	// and logged. The other notifier is not held back by it.
	if n := strings.Count(logs.String(), "notifier=hung"); n < 100-queueSize-1 || !strings.Contains(logs.String(), "queue full") {
		t.Errorf("%d drops logged, want at least %d:\n%s", n, 100-queueSize-1, logs)
	}
	// A burst may overrun the fast notifier's queue too, but it gets at
	// least a queue's worth while the hung one still holds its first event.
	deadline := time.Now().Add(5 * time.Second)
	for len(fast.details()) < queueSize && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := len(fast.details()); n < queueSize {
		t.Errorf("the fast notifier got %d of 100 events while the other hung", n)
	}

	close(hung.gate)
	a.Close(5 * time.Second)
	got := hung.details()
	if len(got) < queueSize || len(got) > queueSize+1 || got[0] != "0" {
		t.Errorf("the hung notifier got %d events starting %v after release, want the first %d or %d", len(got), got[:min(len(got), 1)], queueSize, queueSize+1)
	}
	inOrder(t, "hung", got)
	inOrder(t, "fast", fast.details())
}

func TestAsyncLogsFailures(t *testing.T) {
	log, logs := testLogger()
	a := NewAsync(log, &recorder{name: "broken mailer", err: errors.New("sendmail: connection refused")})
	e := sampleNotice()
	e.Kind = notice.GiveBack
	a.Notify(e)
	a.Close(5 * time.Second)
	mustContain(t, "log", logs.String(), "notice failed", `notifier="broken mailer"`, "kind=giveback", "connection refused")
}

type panicky struct{}

func (panicky) Notify(context.Context, Notice) error { panic("bug in a notifier") }

func TestAsyncSurvivesPanic(t *testing.T) {
	log, logs := testLogger()
	after := &recorder{name: "after"}
	a := NewAsync(log, panicky{}, after)
	a.Notify(sampleNotice())
	a.Notify(sampleNotice())
	a.Close(5 * time.Second)
	mustContain(t, "log", logs.String(), "notifier=notify.panicky", "bug in a notifier")
	if len(after.details()) != 2 {
		t.Errorf("the other notifier got %d events, want 2", len(after.details()))
	}
}

// slow takes a while per event, like a real MTA.
type slow struct{ recorder }

func (s *slow) Notify(ctx context.Context, e Notice) error {
	time.Sleep(5 * time.Millisecond)
	return s.recorder.Notify(ctx, e)
}

func TestAsyncCloseDrains(t *testing.T) {
	log, _ := testLogger()
	s := &slow{recorder{name: "slow"}}
	a := NewAsync(log, s)
	for i := range 30 {
		a.Notify(numbered(i))
	}
	a.Close(5 * time.Second)
	got := s.details()
	if len(got) != 30 {
		t.Fatalf("Close returned with %d of 30 events delivered", len(got))
	}
	inOrder(t, "slow", got)
}

func TestAsyncCloseDeadline(t *testing.T) {
	log, logs := testLogger()
	hung := &recorder{name: "hung", gate: make(chan struct{})}
	a := NewAsync(log, hung)
	for i := range 5 {
		a.Notify(numbered(i))
	}
	start := time.Now()
	a.Close(100 * time.Millisecond)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close(100ms) took %v", d)
	}
	mustContain(t, "log", logs.String(), "not delivered before shutdown", "pending=")
	// The delivery in flight is cancelled, and the rest are not attempted.
	deadline := time.Now().Add(2 * time.Second)
	for {
		hung.mu.Lock()
		cancelled, delivered := hung.cancel, len(hung.got)
		hung.mu.Unlock()
		if cancelled == 1 && delivered == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Close: %d deliveries cancelled, %d made; want 1 and 0", cancelled, delivered)
		}
		time.Sleep(time.Millisecond)
	}

	a.Notify(sampleNotice()) // after Close: logged, no panic
	a.Close(time.Second)     // twice: no panic
	mustContain(t, "log", logs.String(), "already shut down")
}

func TestAsyncNotifyCopiesEvent(t *testing.T) {
	r := &recorder{name: "r"}
	a := NewAsync(nil, r)
	e := sampleNotice()
	a.Notify(e)
	e.Addresses[0] = "changed"
	a.Close(5 * time.Second)
	if got := r.got[0].Addresses[0]; got != "eth0:198.51.100.1/32" {
		t.Errorf("the queued event changed with the caller's slice: %q", got)
	}
}
