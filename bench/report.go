package main

import (
	"compress/gzip"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

type stats struct {
	n                int
	median, p95, max time.Duration
}

func summarize(v []time.Duration) stats {
	if len(v) == 0 {
		return stats{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		i := int(p*float64(len(s)-1) + 0.5)
		return s[i]
	}
	return stats{n: len(s), median: q(0.5), p95: q(0.95), max: s[len(s)-1]}
}

// outages and duals pick one measure of each trial.
func outages(v []outcome) []time.Duration {
	return pick(v, func(o outcome) time.Duration { return o.Outage })
}
func duals(v []outcome) []time.Duration {
	return pick(v, func(o outcome) time.Duration { return o.Dual })
}

func pick(v []outcome, f func(outcome) time.Duration) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, o := range v {
		out[i] = f(o)
	}
	return out
}

func firstLine(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "unknown"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}

// deliveryNote says whose CPU time the kernel's delivery of a heartbeat
// is counted as: that depends on CONFIG_IRQ_TIME_ACCOUNTING.
func deliveryNote() string {
	const lead = "In the lab a heartbeat crosses veth pairs and a bridge, and the kernel delivers it to every\n" +
		"namespace on the link in a softirq that runs inside the sender's system call. "
	switch irqTimeAccounting() {
	case "y":
		return lead + "This kernel accounts\nsoftirq time apart (CONFIG_IRQ_TIME_ACCOUNTING), so the figures leave that work out.\n"
	case "n":
		return lead + "This kernel does not\naccount softirq time apart (no CONFIG_IRQ_TIME_ACCOUNTING), so the sender's figure includes the\nreceiving side's kernel work as well.\n"
	}
	return lead + "Where the kernel does not\naccount softirq time apart (CONFIG_IRQ_TIME_ACCOUNTING), the sender's figure includes that work.\n"
}

// irqTimeAccounting is "y" or "n" from /proc/config.gz, "" when unknown.
func irqTimeAccounting() string {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return ""
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return ""
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return ""
	}
	if strings.Contains(string(b), "\nCONFIG_IRQ_TIME_ACCOUNTING=y\n") {
		return "y"
	}
	return "n"
}

// setting names the machine and the versions measured.
func setting() string {
	return versions(firstLine("keepalived", "--version"), firstLine("sh", "-c", "ucarp --help 2>&1 | head -2 | tail -1"))
}

// versions names the machine, Go's and ipfailover's versions, and
// others'.
func versions(others ...string) string {
	return fmt.Sprintf("Machine: %s, %d cores, Linux %s. Versions: %s, ipfailover %s, %s.",
		cpuModel(), runtime.NumCPU(), firstLine("uname", "-r"), runtime.Version(),
		firstLine("git", "describe", "--always", "--dirty"), strings.Join(others, ", "))
}

// unheld is the gap after a move's first answer beyond which the move
// counts as not held (the client asks every millisecond).
const unheld = 50 * time.Millisecond

func report(o options, daemons []daemon, res results, uses []use, anns []announce) error {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# Benchmarks: failover outage against keepalived and ucarp\n\n")
	w("Written by `sudo make bench` on %s. Each cell is %d trials, the daemons interleaved\n", o.measured.UTC().Format("2006-01-02 15:04 UTC"), o.trials)
	w("trial by trial so that machine noise hits them alike. The outage is what a client on the public\n")
	w("bridge sees: it asks a small UDP service on the address every millisecond, and the longest time\n")
	w("without an answer counts.\n\n")
	w("![median outage per interval, log scale](%s)\n\n", filepath.Base(o.plot))
	w("The raw trials are in `%s`; `cd bench && go run . -report-only` redraws this page and the plot from them.\n\n", filepath.Base(o.raw))
	w("## How it is run\n\n")
	w("The lab of `internal/lab`: server1 and server2 in network namespaces, each with a public leg on a\n")
	w("bridge and a private veth between them, and a client on the bridge. Dead count 3 everywhere.\n\n")
	w("- **ipfailover**: heartbeatd on server1 (heartbeats on both links), failoverd on server2 taking over\n")
	w("  server1's own public address 198.51.100.1 (host address); give-back hold-down max(3 intervals,\n")
	w("  500 ms); no hooks.\n")
	w("- **ipfailover-service**: the same, but 198.51.100.1 is a service address (`FAILOVER_SERVICE_IPS`)\n")
	w("  that heartbeatd holds on server1 while it runs; server1 has 198.51.100.11 of its own.\n")
	w("- **keepalived**: VRRPv3 on the public link, virtual address 198.51.100.1, priority 200 on server1 and\n")
	w("  100 on server2 (preempting), `advert_int` = the interval.\n")
	w("- **ucarp**: CARP on the public link, virtual address 198.51.100.1, `--preempt`, advskew 0 and 100,\n")
	w("  `--deadratio 3`; it only supports whole-second intervals.\n\n")
	w("Each event comes at a random phase within the interval, after the pair has been stable for five\n")
	w("intervals, so an outage may be anything up to the detection timeout plus the reaction. After the\n")
	w("client's first answer from the new owner it is watched for one more detection timeout and 100 ms,\n")
	w("and the outage is the longest gap in the whole window: a move that is undone counts.\n\n")
	w("Scenarios, in this order on one lab: **power off**, server1's links go down in one netlink batch,\n")
	w("so its switch port and server2's end of the private cable lose their carrier microseconds apart;\n")
	w("**give-back**, the links back up (server1 must answer again, and server2\n")
	w("let go); **hung primary**, nothing enters or leaves server1's links (nftables netdev ingress and\n")
	w("egress drop), which keep their carrier, as a host whose kernel stopped (then its traffic flows\n")
	w("again and the pair settles, not measured);\n")
	w("**planned stop, host stays up**, SIGTERM to server1's daemon (heartbeatd's goodbye; keepalived's\n")
	w("priority-0 advertisement; ucarp's exit), watched for two detection timeouts and 1 s, whoever answers\n")
	w("(server1's host still holds its own address), then the daemon started again; **planned stop, host\n")
	w("goes away**, SIGTERM and, %v after the daemon exited, both cables pulled (server2 must answer),\n", hostAway)
	w("then the cables and the daemon back; **daemon killed, host stays up**, `kill -9` of server1's\n")
	w("daemon, watched for two detection timeouts and 1 s: server1 still answers, so the right result\n")
	w("is no takeover, no outage and no duplicate.\n\n")
	w("**Duplicates**: the client also asks who has 198.51.100.1 by ARP every %v (as a host of its own,\n", arpEvery)
	w("so its own neighbour entry moves only by announcements) and counts the rounds that two MACs\n")
	w("answered. *Dual ms* is their summed length, from the event to the end of the scenario; *dual\n")
	w("trials* how many trials saw any such round. Two hosts answering at once is what the project\n")
	w("promises never to happen.\n\n")
	w("%s\n\n", o.setting)
	w("Command: `sudo make bench` (= `cd bench && go run . -trials %d -intervals %s`).\n\n", o.trials, joinIntervals(o.intervals))

	for _, sc := range scenarios {
		w("## %s\n\n", strings.ToUpper(sc[:1])+sc[1:])
		if note := o.notes[sc]; note != "" {
			w("%s\n\n", strings.TrimSpace(note))
		}
		w("| interval | detection timeout | daemon | trials | outage median ms | p95 ms | max ms | median / keepalived's | dual trials | dual median ms | dual max ms |\n")
		w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, iv := range o.intervals {
			ref := summarize(outages(res["keepalived"][iv][sc]))
			for _, d := range daemons {
				v := res[d.Name()][iv][sc]
				if len(v) == 0 {
					continue
				}
				st, dual := summarize(outages(v)), summarize(duals(v))
				ratio := "—"
				if ref.n > 0 && ref.median > 0 {
					ratio = fmt.Sprintf("%.2f", float64(st.median)/float64(ref.median))
				}
				seen := 0
				for _, x := range v {
					if x.DualRounds > 0 {
						seen++
					}
				}
				w("| %v | %v | %s | %d | %s | %s | %s | %s | %d | %s | %s |\n", iv, 3*iv, d.Name(), st.n, fmtMS(st.median), fmtMS(st.p95), fmtMS(st.max), ratio,
					seen, fmtMS(dual.median), fmtMS(dual.max))
			}
		}
		if sc != Planned && sc != Killed {
			// A move that did not hold: the client unanswered for a
			// while, or answered by the other server, after the
			// mover first answered.
			for _, d := range daemons {
				n, all := 0, 0
				var worst time.Duration
				for _, iv := range o.intervals {
					for _, x := range res[d.Name()][iv][sc] {
						all++
						if x.Moved >= 0 && (x.After > unheld || x.Others > 0) {
							n++
							worst = max(worst, x.After)
						}
					}
				}
				if n > 0 {
					w("\n%s: in %d of %d trials the move did not hold: after the client's first answer from the new owner it\n", d.Name(), n, all)
					w("went unanswered for more than %v (longest %s ms), or was answered by the other server, within a detection timeout.\n", unheld, fmtMS(worst))
				}
			}
		}
		if sc == Hung {
			for _, d := range daemons {
				n, all := 0, 0
				for _, iv := range o.intervals {
					for _, x := range res[d.Name()][iv][sc] {
						all++
						if x.Restarted {
							n++
						}
					}
				}
				if n > 0 {
					w("\n%s did not come back by itself after the hung primary's traffic flowed again in %d of %d trials\n", d.Name(), n, all)
					w("(the client stayed on server2, which had let go); the bench restarted server1's daemon then.\n")
				}
			}
		}
		w("\n")
	}

	if o.cluster != nil {
		writeCluster(w, o.cluster)
	}
	w("## CPU and memory\n\n")
	w("Each pair ran for %v at a 10 ms interval (ucarp at 1 s, its minimum); CPU time and peak RSS\n", o.resources)
	w("(VmHWM) of each daemon's process tree, from /proc. Where windows are shown, the time was taken in\n")
	w("that many windows of equal length, the daemons taking turns, each window in a lab of its own; the CPU\n")
	w("figure is their median and the range follows it. The last column divides the CPU time by the\n")
	w("heartbeats the server sent (active) or was sent (standby): ipfailover sends one on each of its\n")
	w("two links each interval, keepalived and ucarp one on the public link. /proc counts CPU time in\n")
	window := o.resources / resourceWindows
	w("clock ticks of 10 ms, so a window of %v resolves %.2f %% of a core; less than that shows as 0.00.\n\n",
		window, 100/float64(clockTick)/window.Seconds())
	w("| daemon | server | interval | CPU, %% of a core | peak RSS MB | processes | CPU µs per heartbeat |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, u := range uses {
		perBeat := "—"
		if i := slices.IndexFunc(daemons, func(d daemon) bool { return d.Name() == u.Daemon }); i >= 0 && u.CPUPercent > 0 {
			beatsPerSecond := float64(daemons[i].Heartbeats()) / u.Interval.Seconds()
			perBeat = fmt.Sprintf("%.0f", u.CPUPercent/100/beatsPerSecond*1e6)
		}
		cpu := fmt.Sprintf("%.2f", u.CPUPercent)
		if len(u.CPUWindows) > 1 {
			cpu += fmt.Sprintf(" (%.2f–%.2f in %d windows)", slices.Min(u.CPUWindows), slices.Max(u.CPUWindows), len(u.CPUWindows))
		}
		w("| %s | %s | %v | %s | %.1f | %d | %s |\n", u.Daemon, u.Server, u.Interval, cpu, u.PeakRSSMB, u.Procs, perBeat)
	}
	w("\n%s", deliveryNote())
	w("\n## Announcing many addresses\n\n")
	w("A takeover of 1, 16 and 64 addresses at a 100 ms interval (ucarp: one address per instance);\n")
	w("tcpdump on the switch port of server2 times each address's first announce frame. The decision time\n")
	w("is known for ipfailover (failoverd logs it, to the millisecond); for the others the last address\n")
	w("is timed from their first frame.\n\n")
	w("| daemon | addresses | decision → first frame ms | → last address's first frame ms | seen |\n| --- | --- | --- | --- | --- |\n")
	for _, a := range anns {
		first := "—"
		if a.FirstFrame >= 0 {
			first = fmtMS(a.FirstFrame)
		}
		last := fmtMS(a.LastAddress)
		if a.FromFrame {
			last += " (from the first frame)"
		}
		w("| %s | %d | %s | %s | %d |\n", a.Daemon, a.N, first, last, a.Seen)
	}
	b.WriteString("\n")
	if err := os.WriteFile(o.out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	logf("wrote %s", o.out)
	if o.trials == 0 {
		logf("no outage trials (-trials 0): no plot")
		return nil
	}
	return writePlot(o, daemons, res)
}

func joinIntervals(ivs []time.Duration) string {
	s := make([]string, len(ivs))
	for i, iv := range ivs {
		s[i] = iv.String()
	}
	return strings.Join(s, ",")
}

var daemonColors = map[string]color.Color{
	"ipfailover":         color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"ipfailover-service": color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	"keepalived":         color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"ucarp":              color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// writePlot draws one panel per scenario: the median outage per
// interval, one line per daemon, on a log scale (the intervals span a
// factor of 100).
func writePlot(o options, daemons []daemon, res results) error {
	var panels []*plot.Plot
	for _, sc := range scenarios {
		p := plot.New()
		p.Title.Text = sc
		p.Y.Label.Text = "median outage, ms"
		p.X.Label.Text = "heartbeat interval"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = oneTwoFive{}
		var names []string
		for _, iv := range o.intervals {
			names = append(names, iv.String())
		}
		p.NominalX(names...)
		for _, d := range daemons {
			var pts plotter.XYs
			for j, iv := range o.intervals {
				if v := res[d.Name()][iv][sc]; len(v) > 0 {
					ms := float64(summarize(outages(v)).median) / float64(time.Millisecond)
					pts = append(pts, plotter.XY{X: float64(j), Y: max(ms, 0.1)})
				}
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color = daemonColors[d.Name()]
			points.Color = daemonColors[d.Name()]
			points.Shape = draw.CircleGlyph{}
			p.Add(line, points)
			p.Legend.Add(d.Name(), line, points)
		}
		// Widen the axis to the 1-2-5 values around the data, so that
		// both ends carry a number.
		p.Y.Min, p.Y.Max = stepBelow(p.Y.Min), stepAbove(p.Y.Max)
		p.Legend.Top = true
		panels = append(panels, p)
	}
	img := vgimg.New(vg.Points(float64(300*len(panels))), vg.Points(400))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(10), PadTop: vg.Points(5), PadBottom: vg.Points(5), PadLeft: vg.Points(5), PadRight: vg.Points(5)}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(o.plot)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	logf("wrote %s", o.plot)
	return nil
}

// oneTwoFive labels a log axis at 1, 2 and 5 times each power of ten, so
// that a panel spanning less than a decade still has numbers on it.
type oneTwoFive struct{}

func (oneTwoFive) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for dec := math.Pow(10, math.Floor(math.Log10(lo))); dec <= hi; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := m * dec; v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return out
}

// steps125 lists 1, 2 and 5 times each power of ten around v.
func steps125(v float64) []float64 {
	dec := math.Pow(10, math.Floor(math.Log10(v)))
	return []float64{dec / 2, dec, 2 * dec, 5 * dec, 10 * dec}
}

// stepBelow is the largest 1-2-5 value at or below v.
func stepBelow(v float64) float64 {
	out := v
	for _, s := range steps125(v) {
		if s <= v {
			out = s
		}
	}
	return out
}

// stepAbove is the smallest 1-2-5 value at or above v.
func stepAbove(v float64) float64 {
	for _, s := range steps125(v) {
		if s >= v {
			return s
		}
	}
	return v
}
