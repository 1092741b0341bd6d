package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Blips of the secondary's own links (issue 21, item 1): server2's
// switch port and the far end of the private cable go down together for
// a moment, then up, the primary alive throughout. Nothing of the
// primary went missing but server2's view of it, so no blip may start a
// takeover job (Test would fence a healthy primary), and the client may
// never see two MACs answer. Before the fix, probes due on a dark link
// counted as unanswered and the round confirmed when the carrier came
// back: 9 blips in 10 started a takeover at a 100 ms interval.

// Log lines of failoverd's jobs.
const (
	takeoverStarts = `msg="job starts" job=takeover`
	tookOver       = `msg="took the address over"`
)

// blipStagger is how far apart server2's two links go dark in blip i:
// in turn microseconds apart, the private cable 3 ms before the switch
// port, microseconds, the switch port 3 ms first. Both took over a live
// primary before the fix, 3 ms apart more often (at a 100 ms interval 16
// of 25 such blips, against 5 of 45 at once): a probe on the link still
// lit is answered, and a later round on dark links confirms at the
// carrier's return.
func blipStagger(i int) time.Duration {
	return [...]time.Duration{0, 3 * time.Millisecond, 0, -3 * time.Millisecond}[i%4]
}

func staggerText(stagger time.Duration) string {
	switch {
	case stagger > 0:
		return fmt.Sprintf("the private cable %v before the switch port", stagger)
	case stagger < 0:
		return fmt.Sprintf("the switch port %v before the private cable", -stagger)
	}
	return "both links at once"
}

// blips blips server2's links n times for d each, from standby with
// every link heard, and watches for settle after each blip that no
// takeover starts. It goes on after one does, so that the failure says
// how many of the n started one.
func (w *world) blips(n int, d, settle time.Duration) {
	w.t.Helper()
	for i := range n {
		// A blip that started a takeover leaves failoverd active until
		// the give-back; the next one starts from standby again.
		lab.WaitFor(holdDown+3*time.Second, func() bool {
			st := w.status()
			if st.State != "standby" || len(st.Links) == 0 {
				return false
			}
			for _, l := range st.Links {
				if !l.Alive {
					return false
				}
			}
			return true
		})
		logAt := len(w.secondary.Output())
		w.Blip(d, blipStagger(i))
		if !lab.Stays(settle, func() bool { return !strings.Contains(w.secondary.Output()[logAt:], takeoverStarts) }) {
			w.t.Logf("blip %d of %d (%v, %s) started a takeover", i+1, n, d, staggerText(blipStagger(i)))
		}
	}
}

// noTakeoverJob fails the test if failoverd started a takeover, ran
// Test, or the client saw two MACs answer since since.
func (w *world) noTakeoverJob(aw *lab.ARPWatch, since time.Time, what string) {
	w.t.Helper()
	out := w.secondary.Output()
	var tests int
	for _, r := range w.hookRuns() {
		if strings.HasPrefix(r, "Test ") {
			tests++
		}
	}
	started, completed := strings.Count(out, takeoverStarts), strings.Count(out, tookOver)
	dual, span := aw.Dual(since, time.Now())
	t := w.t
	t.Logf("%s: takeover jobs started %d, completed %d; Test ran %d times; %d ARP rounds (%v) answered by two MACs",
		what, started, completed, tests, dual, span)
	if started > 0 || tests > 0 || dual > 0 {
		t.Errorf("%s, the primary alive: %d takeover jobs started, %d completed, Test ran %d times, %d client ARP rounds (%v) answered by two MACs %v; want none\nfailoverd:\n%s",
			what, started, completed, tests, dual, span, aw.Owners(since, time.Now()), out)
	}
}

// Ten 100 ms blips at a 100 ms interval (timeout 300 ms), a second
// apart: ten intervals after each for a takeover to show.
func TestBlipsOfTheSecondarysLinks(t *testing.T) {
	w := newWorld(t, withHook("Test", ""), withHook("PreAcq10.a", ""))
	w.start()
	w.waitAnswerFrom("server1", 2*time.Second)
	aw := w.watch()
	start := time.Now()
	w.blips(10, 100*time.Millisecond, time.Second)
	w.noTakeoverJob(aw, start, "ten 100 ms blips of server2's links at a 100 ms interval")
}

// Six 1.4 s blips at the default 1 s interval (timeout 3 s): the
// primary's heartbeats are late during each, and its next one comes
// within a second of the carrier's return; 1.6 s after each for a
// takeover to show.
func TestLongBlipsAtOneSecond(t *testing.T) {
	w := newWorld(t, withHook("Test", ""), withHook("PreAcq10.a", ""))
	w.start("--interval", "1s")
	w.waitAnswerFrom("server1", 2*time.Second)
	if st := w.status(); st.PeerInterval != time.Second {
		t.Fatalf("failoverd did not learn the 1 s interval:\n%s", w.statusText())
	}
	aw := w.watch()
	start := time.Now()
	w.blips(6, 1400*time.Millisecond, 1600*time.Millisecond)
	w.noTakeoverJob(aw, start, "six 1.4 s blips of server2's links at a 1 s interval")
}
