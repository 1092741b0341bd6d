package failoverd

import (
	"log/slog"
	"runtime"
	"testing"
)

// The carrier is watched with confirmation off too: the machine counts
// no question sent into a dark link only if it hears of the dark, and
// without the watch a blip of this host's links longer than the timeout
// took over a live primary (the simulation's seed 10 was such a run).
func TestCarrierIsWatchedWithoutConfirmation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the carrier watch is Linux's")
	}
	if carrierWatch(slog.New(slog.DiscardHandler)) == nil {
		t.Fatal("no carrier watch")
	}
}
