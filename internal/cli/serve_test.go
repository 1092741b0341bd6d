package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSignals feeds Serve signals from the test.
type fakeSignals struct {
	stop, hup chan os.Signal
	released  atomic.Bool // SIGTERM and SIGINT handed back
	done      atomic.Bool // SIGHUP no longer caught
}

func newFakeSignals() *fakeSignals {
	return &fakeSignals{stop: make(chan os.Signal, 1), hup: make(chan os.Signal, 1)}
}

func (f *fakeSignals) get() (stop, hup <-chan os.Signal, release, done func()) {
	return f.stop, f.hup, func() { f.released.Store(true) }, func() { f.done.Store(true) }
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A stop signal ends Main's context; Main stops in order (here: it takes
// a while, as failoverd giving its addresses back does), the tasks end
// after, and the signals are handed back so a second one ends the
// process at once.
func TestServeStopsMainThenTheTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sig := newFakeSignals()
		var mainEnded, taskEnded atomic.Int64
		start := time.Now()
		d := Daemon{Log: quiet(), Systemd: NewNotifier(quiet()), signals: sig.get,
			Main: func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(time.Second) // an orderly stop takes time
				mainEnded.Store(int64(time.Since(start)))
				return nil
			},
			Tasks: []Task{{Name: "metrics", Run: func(ctx context.Context) error {
				<-ctx.Done()
				taskEnded.Store(int64(time.Since(start)))
				return nil
			}}},
		}
		var closedAt atomic.Int64
		d.Close = func() { closedAt.Store(int64(time.Since(start))) }
		code := make(chan int, 1)
		go func() { code <- d.Serve() }()
		time.Sleep(5 * time.Second)
		sig.stop <- syscall.SIGTERM
		time.Sleep(500 * time.Millisecond)
		if sig.done.Load() {
			t.Fatal("SIGHUP no longer caught while main stops: its default would end the process before the goodbye")
		}
		sig.hup <- syscall.SIGHUP // during the stop: nothing happens
		if got := <-code; got != ExitOK {
			t.Fatalf("exit %d, want 0", got)
		}
		if !sig.released.Load() {
			t.Fatal("the signals were not handed back: a second SIGTERM would not end the process")
		}
		if m := time.Duration(mainEnded.Load()); m != 6*time.Second {
			t.Fatalf("main ended at %v, want its orderly stop's second after the signal at 5s", m)
		}
		if tk := time.Duration(taskEnded.Load()); tk != 5*time.Second {
			t.Fatalf("the task ended at %v, want with the signal", tk)
		}
		if c := time.Duration(closedAt.Load()); c != 6*time.Second || !sig.done.Load() {
			t.Fatalf("closed at %v (SIGHUP released %v), want once main and the tasks ended, at 6s", c, sig.done.Load())
		}
	})
}

// Main failing ends the daemon with exit 1, and the tasks with it.
func TestServeEndsWhenMainFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sig := newFakeSignals()
		var taskDone atomic.Bool
		d := Daemon{Log: quiet(), Systemd: NewNotifier(quiet()), signals: sig.get,
			Main: func(ctx context.Context) error { time.Sleep(time.Second); return errors.New("listener failed") },
			Tasks: []Task{{Name: "control", Run: func(ctx context.Context) error {
				<-ctx.Done()
				taskDone.Store(true)
				return nil
			}}},
		}
		if got := d.Serve(); got != ExitFailure {
			t.Fatalf("exit %d, want 1", got)
		}
		if !taskDone.Load() {
			t.Fatal("Serve returned before its tasks ended")
		}
	})
}

// SIGHUP reloads, as often as it comes, while Main runs; a task that
// fails is logged and ends nothing else.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sig := newFakeSignals()
		var reloads atomic.Int32
		var started atomic.Bool
		d := Daemon{Log: quiet(), Systemd: NewNotifier(quiet()), signals: sig.get,
			Main:    func(ctx context.Context) error { <-ctx.Done(); return nil },
			Tasks:   []Task{{Name: "broken", Run: func(context.Context) error { return errors.New("no socket") }}},
			Started: func(context.Context) { started.Store(true) },
			Reload:  func(context.Context) { reloads.Add(1) },
		}
		code := make(chan int, 1)
		go func() { code <- d.Serve() }()
		for range 3 {
			time.Sleep(time.Second)
			sig.hup <- syscall.SIGHUP
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := reloads.Load(); n != 3 {
			t.Fatalf("%d reloads for three SIGHUPs", n)
		}
		if !started.Load() {
			t.Fatal("Started did not run")
		}
		select {
		case c := <-code:
			t.Fatalf("Serve ended (exit %d) when a task beside Main failed", c)
		default:
		}
		sig.stop <- syscall.SIGINT
		if got := <-code; got != ExitOK {
			t.Fatalf("exit %d", got)
		}
	})
}
