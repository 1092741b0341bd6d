package fdtimer

import (
	"runtime"
	"testing"
	"time"
)

// The timerfd ticks at its interval, takes a new one on Reset, and its
// goroutine ends on Stop.
func TestFDTimerKeepsTime(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	tk := New(10*time.Millisecond, 10*time.Millisecond)
	if _, ok := tk.(*fdTimer); !ok {
		t.Fatalf("New gave %T, want the timerfd timer", tk)
	}
	if per := period(t, tk, 20); per < 8*time.Millisecond || per > 25*time.Millisecond {
		t.Errorf("at 10 ms: a tick every %v", per)
	}
	tk.Reset(30*time.Millisecond, 30*time.Millisecond)
	if per := period(t, tk, 5); per < 27*time.Millisecond || per > 60*time.Millisecond {
		t.Errorf("after Reset to 30 ms: a tick every %v", per)
	}
	tk.Stop()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("the timer's goroutine still runs after Stop (%d goroutines, %d before)", n, goroutines)
	}
}

func TestFDTimerOneShotAndResetAtOnce(t *testing.T) {
	testOneShot(t, New)
}

// period is the mean time between n ticks, after aligning to one.
func period(t *testing.T, tk Timer, n int) time.Duration {
	t.Helper()
	<-tk.C()
	start := time.Now()
	for range n {
		select {
		case <-tk.C():
		case <-time.After(time.Second):
			t.Fatal("no tick within a second")
		}
	}
	return time.Since(start) / time.Duration(n)
}
