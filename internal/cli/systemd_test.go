package cli

import (
	"log/slog"
	"sync"
	"testing"
	"time"
)

// The watchdog is pinged from several goroutines (each link's reader and
// the deadline timer); go test -race checks that this is safe.
func TestWatchdogPingsFromManyGoroutines(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "3000000")
	t.Setenv("NOTIFY_SOCKET", "")
	n := NewNotifier(slog.New(slog.DiscardHandler))
	if n.WatchdogInterval() != 3*time.Second {
		t.Fatalf("watchdog %v", n.WatchdogInterval())
	}
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				n.Alive(start.Add(time.Duration(g*1000+i) * time.Millisecond))
			}
		})
	}
	wg.Wait()
}
