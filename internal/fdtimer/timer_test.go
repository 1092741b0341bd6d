package fdtimer

import (
	"testing"
	"time"
)

func TestGoTimerOneShotAndResetAtOnce(t *testing.T) {
	testOneShot(t, NewGo)
}

func TestGoTimerTicks(t *testing.T) {
	tk := NewGo(10*time.Millisecond, 10*time.Millisecond)
	defer tk.Stop()
	for i := range 5 {
		select {
		case <-tk.C():
		case <-time.After(time.Second):
			t.Fatalf("tick %d did not come within a second", i+1)
		}
	}
}

// testOneShot: a timer with no interval expires once; Reset(0, 0) makes
// it expire at once; Reset to later moves an armed expiry later.
func testOneShot(t *testing.T, newTimer func(first, interval time.Duration) Timer) {
	t.Helper()
	start := time.Now()
	tk := newTimer(20*time.Millisecond, 0)
	defer tk.Stop()
	select {
	case <-tk.C():
		if el := time.Since(start); el < 19*time.Millisecond {
			t.Errorf("one-shot of 20 ms expired after %v", el)
		}
	case <-time.After(time.Second):
		t.Fatal("one-shot of 20 ms did not expire within a second")
	}
	select {
	case <-tk.C():
		t.Fatal("a one-shot timer expired twice")
	case <-time.After(60 * time.Millisecond):
	}

	start = time.Now()
	tk.Reset(0, 0)
	select {
	case <-tk.C():
		if el := time.Since(start); el > 50*time.Millisecond {
			t.Errorf("Reset(0, 0) expired only after %v", el)
		}
	case <-time.After(time.Second):
		t.Fatal("Reset(0, 0) did not expire")
	}

	tk.Reset(30*time.Millisecond, 0)
	time.Sleep(10 * time.Millisecond)
	start = time.Now()
	tk.Reset(80*time.Millisecond, 0) // moved later before it expired
	select {
	case <-tk.C():
		if el := time.Since(start); el < 75*time.Millisecond {
			t.Errorf("moved to 80 ms later, it expired after %v", el)
		}
	case <-time.After(time.Second):
		t.Fatal("the moved timer did not expire")
	}
}
