// Command bench measures failover as a client sees it (the outage, and the
// time two servers answer for the address at once), for ipfailover,
// keepalived (VRRPv3) and ucarp (CARP) side by side, in the same
// network-namespace lab, and writes docs/benchmarks.md with a plot.
//
//	sudo make bench                  # the whole run (minutes)
//	cd bench && sudo go run . -smoke # one short ipfailover round
//	cd bench && sudo go run . -cluster-only  # three servers alone
//	cd bench && sudo go run . -cluster-smoke # one short round of each
//
// bench is a module of its own, so that its plotting libraries are not
// among the daemons' dependencies; its go.mod points at the daemons'
// module in the parent directory.
//
// It needs root (namespaces), and installs keepalived and ucarp from
// Debian's packages when they are missing.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

var logMu sync.Mutex

func logf(format string, a ...any) {
	logMu.Lock()
	defer logMu.Unlock()
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", a...)
}

// results[daemon][interval][scenario] holds each trial's outcome.
type results map[string]map[time.Duration]map[string][]outcome

func (r results) add(d string, iv time.Duration, sc string, v outcome) {
	if r[d] == nil {
		r[d] = map[time.Duration]map[string][]outcome{}
	}
	if r[d][iv] == nil {
		r[d][iv] = map[string][]outcome{}
	}
	r[d][iv][sc] = append(r[d][iv][sc], v)
}

type options struct {
	trials     int
	intervals  []time.Duration
	out, plot  string
	smoke      bool
	resources  time.Duration
	only       string
	raw        string
	reportOnly bool
	metrics    bool
	measured   time.Time // when the trials ended
	setting    string    // the machine and versions they ran on
	// The three-server runs: the configurations, their intervals, and
	// whether to run them alone (the pair's figures kept from -raw) or a
	// short round of each.
	clusters         string
	clusterIntervals []time.Duration
	clusterOnly      bool
	clusterSmoke     bool
	cluster          *clusterRun       // their results, nil when none
	notes            map[string]string // kept from -raw: see saved.Notes
}

// saved is what -report-only needs to write the page again.
type saved struct {
	Measured  time.Time
	Setting   string
	Trials    int
	Resources time.Duration
	Intervals []time.Duration
	Daemons   []string
	Outcomes  map[string]map[string]map[string][]outcome // daemon, interval, scenario
	Uses      []use
	Announces []announce
	// Notes are paragraphs written under a scenario's heading, by
	// scenario: what a reader must know of figures measured before a
	// change (written by hand into the raw results; a run of the pair's
	// trials drops them, a run of the three servers alone keeps them).
	Notes map[string]string `json:",omitempty"`
	// Cluster is the three-server runs, nil when none were measured.
	Cluster *clusterRun `json:",omitempty"`
}

// clusterRun is the three-server runs: measured apart from the pair's,
// so either may be run again alone.
type clusterRun struct {
	Measured  time.Time
	Setting   string
	Trials    int
	Intervals []time.Duration
	TTL       time.Duration            // the arbiter's lease
	Partition map[string]time.Duration // interval -> how long the partition lasted
	Configs   []string
	Outcomes  map[string]map[string]map[string][]outcome // configuration, interval, scenario
	// Load is the load average (1 minute) after each round, by
	// configuration, interval and trial: a disturbed round shows.
	Load map[string]map[string][]float64 `json:",omitempty"`
}

func main() {
	var o options
	var ivs, clusterIvs string
	// Five: a round of five scenarios takes about a minute at 1 s, and
	// the whole run stays near half an hour.
	flag.IntVar(&o.trials, "trials", 5, "trials per daemon, interval and scenario")
	flag.StringVar(&ivs, "intervals", "1s,100ms,20ms,10ms", "heartbeat intervals")
	flag.StringVar(&o.out, "out", "", "report to write (default <repository>/docs/benchmarks.md)")
	flag.StringVar(&o.plot, "plot", "", "plot to write (default <repository>/docs/benchmarks.png)")
	flag.BoolVar(&o.smoke, "smoke", false, "one short ipfailover round at 100 ms; no report")
	flag.DurationVar(&o.resources, "resources", time.Minute, "how long to measure CPU and memory at 10 ms")
	flag.StringVar(&o.only, "daemons", "ipfailover,ipfailover-service,keepalived,ucarp", "daemons to measure (ipfailover-metrics: ipfailover with its metrics on and scraped)")
	flag.DurationVar(&metricsScrape, "scrape", metricsScrape, "how often the metrics variant is scraped (0: never)")
	flag.BoolVar(&o.metrics, "metrics", false, "also measure CPU and memory of ipfailover with its metrics endpoints on and scraped every second")
	flag.StringVar(&o.raw, "raw", "", "raw results to write, or read with -report-only (default <repository>/docs/benchmarks.json)")
	flag.BoolVar(&o.reportOnly, "report-only", false, "write the page and plot again from -raw, measuring nothing")
	flag.StringVar(&o.clusters, "clusters", "ipfailover,ipfailover-arbiter,keepalived", "configurations to measure with three servers (\"\": none)")
	flag.StringVar(&clusterIvs, "cluster-intervals", "1s,100ms", "heartbeat intervals of the three-server runs")
	flag.BoolVar(&o.clusterOnly, "cluster-only", false, "measure the three-server runs alone, keeping the pair's figures, CPU and announcing from -raw")
	flag.BoolVar(&o.clusterSmoke, "cluster-smoke", false, "one short round of each three-server configuration at 100 ms; no report")
	flag.Parse()
	for _, f := range []struct {
		flag, val string
		to        *[]time.Duration
	}{{"intervals", ivs, &o.intervals}, {"cluster-intervals", clusterIvs, &o.clusterIntervals}} {
		for _, v := range strings.Split(f.val, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: -%s: %v\n", f.flag, err)
				os.Exit(64)
			}
			*f.to = append(*f.to, d)
		}
	}
	if err := defaultPaths(&o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if err := benchMain(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// defaultPaths puts the report, plot and raw results that no flag named
// in the repository's docs/, wherever bench is run from.
func defaultPaths(o *options) error {
	if o.out != "" && o.plot != "" && o.raw != "" {
		return nil
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path *string
		name string
	}{{&o.out, "benchmarks.md"}, {&o.plot, "benchmarks.png"}, {&o.raw, "benchmarks.json"}} {
		if *f.path == "" {
			*f.path = filepath.Join(root, "docs", f.name)
		}
	}
	return nil
}

func benchMain(o options) error {
	if o.reportOnly {
		return reportFromRaw(o, pairDaemons(""))
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root to build the network-namespace lab: run sudo make bench")
	}
	bin, err := os.MkdirTemp("", "ipfailover-bench-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if err := buildDaemons(bin); err != nil {
		return err
	}
	ipf := ipfailover{bin: bin}
	if o.smoke {
		return smoke(ipf)
	}
	clusters, err := pickClusters(o.clusters, bin)
	if err != nil {
		return err
	}
	if o.clusterSmoke {
		return smokeClusters(clusters)
	}
	if o.clusterOnly {
		return clusterOnly(o, clusters)
	}
	all := pairDaemons(bin)
	withMetrics := all[2]
	if err := ensureInstalled("keepalived", "ucarp"); err != nil {
		return err
	}
	var daemons []daemon
	for _, d := range all {
		if strings.Contains(","+o.only+",", ","+d.Name()+",") {
			daemons = append(daemons, d)
		}
	}
	res := results{}
	started := time.Now()
	for trial := 1; trial <= o.trials; trial++ {
		// Interleaved: each trial runs every daemon and interval once, so
		// machine noise hits them alike.
		for _, iv := range o.intervals {
			for _, d := range daemons {
				if !d.Supports(iv) {
					continue
				}
				name := fmt.Sprintf("%s %v trial %d", d.Name(), iv, trial)
				var out map[string]outcome
				err := run(name, func(s *scope) { out = round(s, d, iv) })
				if err != nil {
					logf("%v (trial not counted)", err)
					continue
				}
				for sc, v := range out {
					res.add(d.Name(), iv, sc, v)
				}
				logf("%s: %s", name, fmtRound(out))
			}
		}
	}
	logf("outage trials took %v", time.Since(started).Round(time.Second))
	if len(clusters) > 0 {
		o.cluster = measureClusters(o, clusters)
	}
	// The service address changes nothing in what the daemons do
	// between failovers, nor in how they announce: resources and
	// announcing are measured once for ipfailover.
	same := slices.DeleteFunc(slices.Clone(daemons), func(d daemon) bool { ipf, ok := d.(ipfailover); return ok && ipf.service })
	ann := measureAnnounce(slices.DeleteFunc(slices.Clone(same), func(d daemon) bool { return d == daemon(withMetrics) }))
	if o.metrics && !slices.Contains(same, daemon(withMetrics)) {
		same = append(same, withMetrics)
	}
	use := measureResources(same, o.resources)
	o.measured, o.setting = time.Now(), setting()
	if err := saveRaw(o, daemons, res, use, ann); err != nil {
		return err
	}
	return report(o, daemons, res, use, ann)
}

// pairDaemons are the pair's daemons, ipfailover's built into bin.
func pairDaemons(bin string) []daemon {
	return []daemon{ipfailover{bin: bin}, ipfailover{bin: bin, service: true}, ipfailover{bin: bin, metrics: true}, keepalived{}, ucarp{}}
}

func saveRaw(o options, daemons []daemon, res results, uses []use, anns []announce) error {
	s := saved{Measured: o.measured, Setting: o.setting, Trials: o.trials, Resources: o.resources, Intervals: o.intervals, Uses: uses, Announces: anns, Outcomes: map[string]map[string]map[string][]outcome{},
		Notes: o.notes, Cluster: o.cluster}
	for _, d := range daemons {
		s.Daemons = append(s.Daemons, d.Name())
		s.Outcomes[d.Name()] = map[string]map[string][]outcome{}
		for iv, bySc := range res[d.Name()] {
			s.Outcomes[d.Name()][iv.String()] = bySc
		}
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.raw, b, 0o644)
}

func reportFromRaw(o options, all []daemon) error {
	s, err := readRaw(o.raw)
	if err != nil {
		return err
	}
	o.trials, o.intervals, o.resources = s.Trials, s.Intervals, s.Resources
	o.measured, o.setting = s.Measured, s.Setting
	o.notes, o.cluster = s.Notes, s.Cluster
	var daemons []daemon
	res := results{}
	for _, d := range all {
		if !slices.Contains(s.Daemons, d.Name()) {
			continue
		}
		daemons = append(daemons, d)
		for ivs, bySc := range s.Outcomes[d.Name()] {
			iv, err := time.ParseDuration(ivs)
			if err != nil {
				return err
			}
			for sc, v := range bySc {
				for _, x := range v {
					res.add(d.Name(), iv, sc, x)
				}
			}
		}
	}
	return report(o, daemons, res, s.Uses, s.Announces)
}

func readRaw(path string) (saved, error) {
	var s saved
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// smoke: one ipfailover round, checked as TestSmoke checks it, so CI
// keeps the driver working.
func smoke(d daemon) error {
	out, err := smokeRound(d)
	if err != nil {
		return err
	}
	fmt.Printf("smoke: %s\n", fmtRound(out))
	if problems := smokeProblems(out, smokeInterval); len(problems) > 0 {
		return fmt.Errorf("smoke round out of bounds:\n\t%s", strings.Join(problems, "\n\t"))
	}
	return nil
}

// ensureInstalled installs Debian packages whose commands are missing.
func ensureInstalled(cmds ...string) error {
	var missing []string
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	logf("installing %s", strings.Join(missing, " "))
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, missing...)} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
