package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// ---- CPU and memory ----

// use is what one server's daemon consumed.
type use struct {
	Daemon, Server string
	Interval       time.Duration
	CPUPercent     float64 // of one core: the median of the windows
	// CPUWindows is the CPU time of each window (of one core), in the
	// order measured; empty in results saved before windows were used.
	CPUWindows []float64 `json:",omitempty"`
	PeakRSSMB  float64
	Procs      int
}

// procTree returns pid and its descendants.
func procTree(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 2 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// cpuTicks sums utime and stime (clock ticks) of pids.
func cpuTicks(pids []int) int64 {
	var t int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			t += u + s
		}
	}
	return t
}

// peakRSS sums VmHWM (kB) of pids.
func peakRSS(pids []int) float64 {
	var kb float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				kb += n
			}
		}
	}
	return kb / 1024
}

const clockTick = 100 // USER_HZ on Linux

// resourceWindows is how many windows the CPU time is measured in. The
// windows take turns between the daemons, each in a lab of its own, so
// that a noisy minute on the machine does not land on one daemon alone.
const resourceWindows = 3

// measureResources runs each daemon pair at 10 ms (ucarp at its 1 s
// minimum) for d in all, in resourceWindows windows, and reads CPU time
// and peak RSS from /proc.
func measureResources(daemons []daemon, d time.Duration) []use {
	byKey := map[string]*use{}
	var order []string
	for w := 1; w <= resourceWindows; w++ {
		for _, dm := range daemons {
			for _, u := range measureWindow(dm, d/resourceWindows, w) {
				key := u.Daemon + "/" + u.Server
				acc, ok := byKey[key]
				if !ok {
					acc = &use{Daemon: u.Daemon, Server: u.Server, Interval: u.Interval}
					byKey[key] = acc
					order = append(order, key)
				}
				acc.CPUWindows = append(acc.CPUWindows, u.CPUPercent)
				acc.PeakRSSMB = max(acc.PeakRSSMB, u.PeakRSSMB)
				acc.Procs = max(acc.Procs, u.Procs)
			}
		}
	}
	var out []use
	for _, key := range order {
		u := *byKey[key]
		sorted := slices.Clone(u.CPUWindows)
		slices.Sort(sorted)
		u.CPUPercent = sorted[len(sorted)/2]
		out = append(out, u)
	}
	return out
}

// measureWindow starts one daemon pair, lets it settle, and measures each
// server's daemon for d.
func measureWindow(dm daemon, d time.Duration, window int) []use {
	var out []use
	iv := 10 * time.Millisecond
	if !dm.Supports(iv) {
		iv = time.Second
	}
	err := run(fmt.Sprintf("resources %s window %d", dm.Name(), window), func(s *scope) {
		p := lab.NewPair(s)
		lab.Serve(s, p.S1, svcPort, "server1")
		probe := lab.StartProbe(s, p.Client, vip, svcPort, 10*time.Millisecond)
		r := dm.Start(s, p, iv, nil)
		settle(s, r, probe, iv, "at start")
		type proc struct {
			server string
			pids   []int
		}
		var procs []proc
		for _, x := range r.primary {
			procs = append(procs, proc{"server1 (active)", procTree(x.Cmd.Process.Pid)})
		}
		for _, x := range r.secondary {
			procs = append(procs, proc{"server2 (standby)", procTree(x.Cmd.Process.Pid)})
		}
		before := make([]int64, len(procs))
		for i, pr := range procs {
			before[i] = cpuTicks(pr.pids)
		}
		start := time.Now()
		time.Sleep(d)
		el := time.Since(start)
		for i, pr := range procs {
			pids := procTree(pr.pids[0]) // children may have come and gone
			ticks := cpuTicks(pids) - before[i]
			u := use{Daemon: dm.Name(), Server: pr.server, Interval: iv, Procs: len(pids),
				CPUPercent: float64(ticks) / clockTick / el.Seconds() * 100, PeakRSSMB: peakRSS(pids)}
			out = append(out, u)
			logf("resources %s %s at %v, window %d: %.2f%% CPU, %.1f MB peak RSS, %d processes", u.Daemon, u.Server, iv, window, u.CPUPercent, u.PeakRSSMB, u.Procs)
		}
	})
	if err != nil {
		logf("%v", err)
	}
	return out
}

// ---- announcing many addresses ----

// announce is how fast one daemon announced n addresses at a takeover.
type announce struct {
	Daemon string
	N      int
	// FirstFrame: from the takeover decision to the first announce frame
	// (known for ipfailover, which logs its decision); -1 when unknown.
	FirstFrame time.Duration
	// LastAddress: from the decision (or, when unknown, from the first
	// frame) to the first frame of the last of the n addresses.
	LastAddress time.Duration
	FromFrame   bool // LastAddress counts from the first frame
	Seen        int
}

// arpLine matches an announce: a gratuitous request (who-has X tell X)
// or a reply; the client's own requests for the address do not count.
var arpLine = regexp.MustCompile(`^(\d+\.\d+) .*ARP, (?:Request who-has (\S+)(?: \([^)]*\))? tell (\S+)|Reply (\S+) is-at)`)

// extraAddresses are n-1 addresses besides vip, on another subnet.
func extraAddresses(n int) []string {
	var out []string
	for i := 1; i < n; i++ {
		out = append(out, fmt.Sprintf("203.0.113.%d", i))
	}
	return out
}

// measureAnnounce takes over 1, 16 and 64 addresses at a 100 ms interval
// and times the announce frames as they reach the switch.
func measureAnnounce(daemons []daemon) []announce {
	var out []announce
	for _, n := range []int{1, 16, 64} {
		for _, dm := range daemons {
			if _, ok := dm.(ucarp); ok && n > 1 {
				continue
			}
			err := run(fmt.Sprintf("announce %s %d", dm.Name(), n), func(s *scope) {
				out = append(out, announceOnce(s, dm, n))
			})
			if err != nil {
				logf("%v", err)
			}
		}
	}
	return out
}

func announceOnce(s *scope, dm daemon, n int) announce {
	iv := 100 * time.Millisecond
	if !dm.Supports(iv) {
		iv = time.Second
	}
	p := lab.NewPair(s)
	lab.Serve(s, p.S1, svcPort, "server1")
	lab.Serve(s, p.S2, svcPort, "server2")
	probe := lab.StartProbe(s, p.Client, vip, svcPort, 10*time.Millisecond)
	extra := extraAddresses(n)
	r := dm.Start(s, p, iv, extra)
	settle(s, r, probe, iv, "at start")

	capFile := filepath.Join(s.TempDir(), "arp.txt")
	f, err := os.Create(capFile)
	if err != nil {
		s.Fatal(err)
	}
	defer f.Close()
	// Only what server2 sends: server1's own start-up announcements and
	// the client's requests cross this port too.
	td := p.Switch.Command("tcpdump", "-l", "-n", "-tt", "-i", "s2", "arp and ether src "+lab.MAC(s, p.S2, "pub0"))
	td.Stdout = f
	if err := td.Start(); err != nil {
		s.Fatal(err)
	}
	defer func() { _ = td.Process.Kill(); _ = td.Wait() }()
	time.Sleep(500 * time.Millisecond) // tcpdump listening

	want := map[string]bool{vip: true}
	for _, a := range extra {
		want[a] = true
	}
	p.CutPrivate()
	p.CutPublic()
	first := map[string]float64{}
	waitFor(10*time.Second+30*iv, func() bool {
		first = firstFrames(capFile, want)
		return len(first) == n
	})
	time.Sleep(200 * time.Millisecond)
	first = firstFrames(capFile, want)
	if os.Getenv("BENCH_DEBUG") != "" {
		b, _ := os.ReadFile(capFile)
		logf("capture:\n%s\nsecondary:\n%s", b, r.secondary[0].Output())
	}
	a := announce{Daemon: dm.Name(), N: n, FirstFrame: -1, Seen: len(first)}
	if len(first) == 0 {
		s.Fatalf("no announce frame seen")
	}
	var times []float64
	for _, t := range first {
		times = append(times, t)
	}
	sort.Float64s(times)
	start := times[0]
	a.FromFrame = true
	if dec, ok := decisionTime(r); ok {
		a.FirstFrame = secs(times[0] - dec)
		start, a.FromFrame = dec, false
	}
	a.LastAddress = secs(times[len(times)-1] - start)
	logf("announce %s %d addresses: first frame %v after the decision, last address %v (seen %d)", a.Daemon, n, a.FirstFrame, a.LastAddress, a.Seen)
	return a
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// firstFrames reads a tcpdump -tt capture: the first frame per address.
func firstFrames(path string, want map[string]bool) map[string]float64 {
	out := map[string]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := arpLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		addr := m[4]
		if m[2] != "" && strings.TrimSuffix(m[2], ",") == strings.TrimSuffix(m[3], ",") {
			addr = strings.TrimSuffix(m[2], ",")
		}
		if !want[addr] {
			continue
		}
		if _, ok := out[addr]; !ok {
			t, _ := strconv.ParseFloat(m[1], 64)
			out[addr] = t
		}
	}
	return out
}

// decisionTime: when failoverd decided to take over, from its log
// ("job starts"); only ipfailover says so in its log.
func decisionTime(r *running) (float64, bool) {
	if len(r.secondary) == 0 {
		return 0, false
	}
	for _, line := range strings.Split(r.secondary[0].Output(), "\n") {
		if !strings.Contains(line, `msg="job starts" job=takeover`) {
			continue
		}
		ts, ok := strings.CutPrefix(strings.Fields(line)[0], "time=")
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		return float64(t.UnixNano()) / 1e9, true
	}
	return 0, false
}
