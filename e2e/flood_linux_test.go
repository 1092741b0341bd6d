package e2e

import (
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// floodFor is how long each junk flood lasts, and floodThreads how many
// threads send a flood. In make test one thread floods junk for a few
// seconds: two would take both cores of a small machine, and the other
// tests of a suite running beside this one (a lab at a 100 ms interval)
// would then starve. Only TestForgedHeartbeatFlood takes both, for 5 s a
// case: its flood must outrun failoverd's reader. IPFO_FLOOD_SECONDS and
// IPFO_FLOOD_THREADS make a soak by hand (60 s on two threads in the
// closing notes), for both tests.
func floodFor() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("IPFO_FLOOD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 5 * time.Second
}

// floodThreads is IPFO_FLOOD_THREADS, or def.
func floodThreads(def int) int {
	if n, err := strconv.Atoi(os.Getenv("IPFO_FLOOD_THREADS")); err == nil && n > 0 {
		return n
	}
	return def
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

// flood sends packets from n threads at once, each from its own port,
// for d or until each has sent limit (0: no count).
func flood(ns *lab.NS, n int, src, dst string, packets [][]byte, d time.Duration, limit uint64) (lab.Flood, error) {
	host, port, _ := strings.Cut(src, ":")
	p, _ := strconv.Atoi(port)
	type result struct {
		f   lab.Flood
		err error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			f, err := lab.SendPackets(ns, host+":"+strconv.Itoa(p+i), dst, packets, d, limit)
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
			f, err := flood(tc.from(w), floodThreads(1), tc.src, tc.dst, lab.Junk(40, tc.prefix), floodFor(), 0)
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
				_, err := flood(tc.from(w), floodThreads(1), tc.src, tc.dst, lab.Junk(40, tc.prefix), 3*time.Second, 0)
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

// forgedHeartbeats are well-formed heartbeats as the primary sends them
// (its name and epoch, the key id of the key in force) with random
// sequence numbers and tags: nothing short of the tag check tells them
// from the primary's. A key that is not the key, with its id, signs each.
func forgedHeartbeats(t *testing.T, secret []byte, sender string, epoch uint64) [][]byte {
	key, err := wire.NewKey(secret, "the test's")
	must(t, err)
	out := make([][]byte, 256)
	for i := range out {
		fake := make([]byte, 32)
		_, _ = rand.Read(fake)
		p := wire.Packet{Type: wire.Heartbeat, Sender: sender, Epoch: epoch, Seq: mathrand.Uint64(), Interval: interval, SentAt: time.Now()}
		b, err := wire.NewKeyring(wire.Key{ID: key.ID, Secret: fake}).Seal(&p)
		must(t, err)
		out[i] = b
	}
	return out
}

// A flood of forged heartbeats never delays a takeover: before a
// decision failoverd reads what waits unread for a bounded time only,
// and on the public link the kernel's filter passes only the primary's
// addresses (it passed the whole subnet, and failoverd checked the tag
// of each packet from the client, 790k in a run). The primary loses power a second into a flood from two threads (one
// for each core of a small machine: a rate that outruns failoverd's
// reader, so its queue stays full), and the takeover starts within the
// timeout and an interval, and the busy machine's slack. A drain that
// read until the queue was empty waited for the end of the flood, 4 s
// later here (20-27 s in a longer one).
func TestForgedHeartbeatFlood(t *testing.T) {
	const (
		offAfter = time.Second // the queue fills in milliseconds
		bound    = timeout + interval + slack
	)
	flooding := floodFor()
	cases := []struct {
		name     string
		from     func(w *world) *lab.NS
		src, dst string
		// off ends the primary as a power-off does, with the flood
		// still coming.
		off func(w *world)
		// filtered: the kernel drops every packet of the flood, and
		// failoverd sees none (it checked the tag of each).
		filtered string
	}{
		// From the client's own address on the public switch.
		{"public link, the client's address", func(w *world) *lab.NS { return w.Client }, lab.ClientAddr + ":40000", lab.Server2Pub + ":1694",
			func(w *world) { w.PowerOff() }, "pub0"},
		// From the primary's private address on the private cable: it
		// passes every filter, and each packet costs a tag check. The
		// cable stays up (the flood comes over it): the power-off is
		// heartbeatd gone, the public cable pulled, and no answer to
		// ARP on the private cable.
		{"private cable, the primary's address", func(w *world) *lab.NS { return w.S1 }, lab.Server1Priv + ":40000", lab.Server2Priv + ":1694",
			func(w *world) {
				w.S1.Sysctl("net.ipv4.conf.priv0.arp_ignore", "8")
				must(w.t, w.primary.Signal(syscall.SIGKILL))
				w.CutPublic()
			}, ""},
	}
	floodLock(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secret := []byte("a secret of thirty-two bytes, ok")
			key := filepath.Join(t.TempDir(), "key")
			must(t, os.WriteFile(key, append(secret, '\n'), 0o600))
			w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+key), withPrimaryConf("FAILOVER_AUTH_KEY_FILE="+key))
			w.start()
			st := w.status()
			packets := forgedHeartbeats(t, secret, st.PeerName, st.PeerEpoch)
			pid := w.secondary.Cmd.Process.Pid
			t0, _ := cpuTicks(t, pid)

			type result struct {
				f   lab.Flood
				err error
			}
			flooded := make(chan result, 1)
			start := time.Now()
			go func() {
				f, err := flood(tc.from(w), floodThreads(2), tc.src, tc.dst, packets, flooding, 10_000_000)
				flooded <- result{f, err}
			}()
			time.Sleep(offAfter)
			t1, _ := cpuTicks(t, pid)
			busy := float64(t1-t0) / time.Since(start).Seconds() // clock ticks are hundredths of a second
			// The flood may silence its own link (degraded), nothing more.
			if st := w.state(); st != "standby" && st != "degraded" {
				t.Fatalf("the flood alone moved failoverd to %s\n%s", st, w.secondary.Output())
			}
			logAt := len(w.secondary.Output())
			off := time.Now()
			tc.off(w)
			// Waited for past the flood's end, so that a late takeover is
			// measured, not only said to be late.
			active := lab.WaitFor(flooding+slack, func() bool { return w.state() == "active" })
			r := <-flooded
			must(t, r.err)
			if !active {
				t.Fatalf("no takeover %v after the power-off (state %s)\nfailoverd:\n%s", time.Since(off), w.state(), w.secondary.Output()[logAt:])
			}
			took := decisionTime(t, w.secondary.Output()[logAt:]).Sub(off)
			t.Logf("flood: %v; failoverd used %.0f %% of a core before the power-off; the takeover started %v after it (timeout %v, interval %v)",
				r.f, busy, took.Round(time.Millisecond), timeout, interval)
			for _, l := range w.status().Links {
				t.Logf("%s: received %d, dropped %v", l.Name, l.Received, l.Dropped)
				if l.Name == tc.filtered && len(l.Dropped) > 0 {
					t.Errorf("the flood reached failoverd on %s: dropped %v", l.Name, l.Dropped)
				}
			}
			if took > bound {
				t.Errorf("the takeover started %v after the power-off, want within %v; the flood ended %v after it",
					took.Round(time.Millisecond), bound, start.Add(r.f.Took).Sub(off).Round(time.Millisecond))
			}
		})
	}
}
