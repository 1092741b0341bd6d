package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// floodFor is how long each flood lasts, and floodThreads how many
// threads send it. In make test one thread floods for a few seconds: two
// would take both cores of a small machine, and the other tests of a
// suite running beside this one (a lab at a 100 ms interval) would then
// starve. IPFO_FLOOD_SECONDS and IPFO_FLOOD_THREADS make a soak by hand
// (60 s on two threads in the closing notes).
func floodFor() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("IPFO_FLOOD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 5 * time.Second
}

func floodThreads() int {
	if n, err := strconv.Atoi(os.Getenv("IPFO_FLOOD_THREADS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// floodLock keeps two suites on one machine from flooding at once.
func floodLock(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "ipfailover-e2e-flood.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	must(t, err)
	must(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	t.Cleanup(func() { f.Close() })
}

// cpuTicks is a process's user and system time in clock ticks.
func cpuTicks(t *testing.T, pid int) (ticks uint64, rssKB uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			rssKB, _ = strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return ut + st, rssKB
}

// flood sends 40-byte junk from floodThreads threads at once, each from
// its own port.
func flood(ns *lab.NS, src, dst string, prefix []byte, d time.Duration) (lab.Flood, error) {
	host, port, _ := strings.Cut(src, ":")
	p, _ := strconv.Atoi(port)
	type result struct {
		f   lab.Flood
		err error
	}
	n := floodThreads()
	results := make(chan result, n)
	for i := range n {
		go func() {
			f, err := lab.SendFlood(ns, host+":"+strconv.Itoa(p+i), dst, 40, prefix, d)
			results <- result{f, err}
		}()
	}
	var total lab.Flood
	var errs []error
	for range n {
		r := <-results
		total.Packets += r.f.Packets
		total.Took = max(total.Took, r.f.Took)
		errs = append(errs, r.err)
	}
	return total, errors.Join(errs...)
}

// decisionTime is when failoverd's log says the takeover started.
func decisionTime(t *testing.T, log string) time.Time {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "to=acquiring") {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		return at
	}
	t.Fatalf("no takeover in failoverd's log:\n%s", log)
	return time.Time{}
}

// Junk on one link never silences another, and never delays the
// takeover when the primary dies: a flood at the highest rate one lab
// sender reaches, with a key set, on each link.
func TestJunkFlood(t *testing.T) {
	cases := []struct {
		name     string
		from     func(w *world) *lab.NS
		src, dst string
		prefix   []byte
		// silenced: the flood may silence its own link (the link's
		// heartbeats drown in its queue), never another.
		silenced string
	}{
		// A stranger on the public switch: the kernel's filter drops it
		// (the public link may still lose heartbeats in the kernel's
		// queues on the way, in the lab shared with the flood).
		{"public link, a stranger", func(w *world) *lab.NS { return w.Client }, lab.ClientAddr + ":40000", lab.Server2Pub + ":1694", nil, "pub0"},
		// From the primary's own address with the protocol's magic: it
		// passes the filter and fills the private link's queue.
		{"private link, the primary's address", func(w *world) *lab.NS { return w.S1 }, lab.Server1Priv + ":40000", lab.Server2Priv + ":1694", []byte("IPFO\x01\x01\x00\x06"), "priv0"},
	}
	floodLock(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "key")
			must(t, os.WriteFile(key, []byte("a secret of thirty-two bytes, ok\n"), 0o600))
			w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+key), withPrimaryConf("FAILOVER_AUTH_KEY_FILE="+key))
			w.start()
			pid := w.secondary.Cmd.Process.Pid
			t0, _ := cpuTicks(t, pid)
			logAt := len(w.secondary.Output())

			// The primary lives: nothing changes.
			f, err := flood(tc.from(w), tc.src, tc.dst, tc.prefix, floodFor())
			must(t, err)
			t1, rss := cpuTicks(t, pid)
			t.Logf("flood: %v; failoverd used %.2f s of CPU, peak RSS %d kB", f, float64(t1-t0)/100, rss)

			during := w.secondary.Output()[logAt:]
			if strings.Contains(during, "to=acquiring") {
				t.Fatalf("the flood caused a takeover while the primary lived:\n%s", during)
			}
			for _, line := range strings.Split(during, "\n") {
				if strings.Contains(line, "kind=anomaly ") && (tc.silenced == "" || !strings.Contains(line, "no heartbeat on "+tc.silenced+" for")) {
					t.Fatalf("the flood silenced another link:\n%s", line)
				}
			}
			// The flooded link's queue drains, and it is heard again.
			if !lab.WaitFor(10*time.Second, func() bool { return w.state() == "standby" }) || w.holds(w.S2) {
				t.Fatalf("after the flood: %s, holds %v\n%s\nfailoverd since the flood began:\n%s", w.state(), w.holds(w.S2), w.statusText(), w.secondary.Output()[logAt:])
			}

			// The primary dies during a flood (heartbeatd killed, its
			// public address gone, the flood still coming): the takeover
			// still comes within the timeout and an interval (slack for
			// the machine).
			flooded := make(chan error, 1)
			go func() {
				_, err := flood(tc.from(w), tc.src, tc.dst, tc.prefix, 3*time.Second)
				flooded <- err
			}()
			time.Sleep(500 * time.Millisecond) // the flood is under way
			logAt = len(w.secondary.Output())
			died := time.Now()
			must(t, w.primary.Signal(syscall.SIGKILL))
			w.S1.MustRun("ip", "addr", "del", lab.Server1Pub+lab.PubNet, "dev", "pub0")
			w.waitState("active", timeout+interval+slack)
			decided := decisionTime(t, w.secondary.Output()[logAt:])
			t.Logf("the takeover started %v after the primary died, under the flood (timeout %v, interval %v)",
				decided.Sub(died).Round(time.Millisecond), timeout, interval)
			must(t, <-flooded)
		})
	}
}
