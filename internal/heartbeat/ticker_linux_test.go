package heartbeat

import (
	"runtime"
	"testing"
	"time"
)

// The timerfd ticker keeps its interval, takes a new one on Reset, and
// its goroutine ends on Stop.
func TestFDTickerKeepsTime(t *testing.T) {
	tk := newTicker(10 * time.Millisecond)
	if _, ok := tk.(*fdTicker); !ok {
		t.Fatalf("newTicker gave %T, want the timerfd ticker", tk)
	}
	goroutines := runtime.NumGoroutine()
	count := func(n int) time.Duration {
		<-tk.C() // align to a tick
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
	if per := count(20); per < 8*time.Millisecond || per > 25*time.Millisecond {
		t.Errorf("at 10 ms: a tick every %v", per)
	}
	tk.Reset(30 * time.Millisecond)
	if per := count(5); per < 27*time.Millisecond || per > 60*time.Millisecond {
		t.Errorf("after Reset to 30 ms: a tick every %v", per)
	}
	tk.Stop()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() >= goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if runtime.NumGoroutine() >= goroutines {
		t.Errorf("the ticker's goroutine still runs after Stop (%d goroutines, %d while ticking)", runtime.NumGoroutine(), goroutines)
	}
}
