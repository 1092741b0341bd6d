package fdtimer

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestGoTimerOneShotAndResetAtOnce(t *testing.T) {
	testOneShot(t, NewGo)
}

// The Go timer ticks at its interval: with synctest's fake clock each
// tick comes exactly on time, neither early nor late.
func TestGoTimerTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		tk := NewGo(10*time.Millisecond, 10*time.Millisecond)
		defer tk.Stop()
		for i := range 5 {
			select {
			case <-tk.C():
			case <-time.After(time.Second):
				t.Fatalf("tick %d did not come within a second", i+1)
			}
			if el, want := time.Since(start), time.Duration(i+1)*10*time.Millisecond; el != want {
				t.Errorf("tick %d after %v, want %v", i+1, el, want)
			}
		}
	})
}

// testOneShot: a timer with no interval expires once; Reset(0, 0) makes
// it expire at once; Reset moves an armed expiry later or earlier and
// drops an expiry not yet received; Reset after Stop does nothing.
func testOneShot(t *testing.T, newTimer func(first, interval time.Duration) Timer) {
	t.Helper()
	start := time.Now()
	tk := newTimer(20*time.Millisecond, 0)
	defer tk.Stop()
	expect(t, tk, "one-shot of 20 ms", start, 19*time.Millisecond)
	quiet(t, tk, "a one-shot timer expired twice", 60*time.Millisecond)

	start = time.Now()
	tk.Reset(0, 0)
	expect(t, tk, "Reset(0, 0)", start, 0)

	tk.Reset(100*time.Millisecond, 0)
	start = time.Now()
	tk.Reset(300*time.Millisecond, 0) // later, before it expired
	expect(t, tk, "moved from 100 ms to 300 ms", start, 290*time.Millisecond)

	tk.Reset(time.Second, 0)
	start = time.Now()
	tk.Reset(20*time.Millisecond, 0) // earlier, as failoverd's deadline moves
	at := expect(t, tk, "moved from 1 s to 20 ms", start, 19*time.Millisecond)
	if el := at.Sub(start); el > 500*time.Millisecond {
		t.Errorf("moved from 1 s to 20 ms, it expired after %v", el)
	}

	tk.Reset(time.Millisecond, 0)
	time.Sleep(30 * time.Millisecond) // expired; not received
	tk.Reset(300*time.Millisecond, 0)
	quiet(t, tk, "Reset kept an expiry that came before it", 150*time.Millisecond)

	tk.Stop()
	tk.Reset(time.Millisecond, 0)
	drainAll(tk)
	quiet(t, tk, "Reset after Stop armed the timer again", 60*time.Millisecond)
}

// expect waits up to a second for an expiry, no sooner than min after
// start, and returns when it came.
func expect(t *testing.T, tk Timer, what string, start time.Time, min time.Duration) time.Time {
	t.Helper()
	select {
	case <-tk.C():
		now := time.Now()
		if el := now.Sub(start); el < min {
			t.Errorf("%s: expired after %v, before %v", what, el, min)
		}
		return now
	case <-time.After(time.Second):
		t.Fatalf("%s: no expiry within a second", what)
	}
	return time.Time{}
}

// quiet fails if the timer expires within d.
func quiet(t *testing.T, tk Timer, what string, d time.Duration) {
	t.Helper()
	select {
	case <-tk.C():
		t.Error(what)
	case <-time.After(d):
	}
}

func drainAll(tk Timer) {
	for {
		select {
		case <-tk.C():
		default:
			return
		}
	}
}
