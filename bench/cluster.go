package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// More than two servers: the cluster lab of internal/lab (a primary and
// two standbys on a public, a private and a management bridge, three etcd
// members on the management one for the arbiter), ipfailover without and
// with the arbiter, and keepalived with three routers.

// Partition is the scenario of the cluster alone: the standby of the
// highest priority cut from the primary, the client reaching both.
const Partition = "partition of the secondary"

// clusterScenarios are measured in this order on one cluster lab.
var clusterScenarios = []string{PowerOff, Hung, Partition}

// arbiterTTL is the arbiter's lease: FAILOVER_ARBITER_TTL's default,
// which the bench leaves unset.
const arbiterTTL = 3 * time.Second

// clusterConfig is one way of running three servers.
type clusterConfig interface {
	Name() string
	// Etcd says whether the lab needs its three etcd members.
	Etcd() bool
	// Start sets up and starts the daemons of the primary (s1) and the
	// two standbys (s2, then s3, in order of priority).
	Start(s *scope, c *lab.Cluster, interval time.Duration) *running
}

// ---- ipfailover: heartbeatd on s1, failoverd on s2 and s3 ----

// ipfailoverCluster: heartbeatd on s1, failoverd with FAILOVER_PRIORITY
// 200 on s2 and 150 on s3, taking over s1's own public address; with
// arbiter, every one of them with FAILOVER_ARBITER = the lab's etcd
// (the lease's TTL the default).
type ipfailoverCluster struct {
	bin     string
	arbiter bool
}

func (d ipfailoverCluster) Name() string {
	if d.arbiter {
		return "ipfailover-arbiter"
	}
	return "ipfailover"
}

func (d ipfailoverCluster) Etcd() bool { return d.arbiter }

// standbyPriorities are s2's and s3's FAILOVER_PRIORITY.
var standbyPriorities = []int{200, 150}

func (d ipfailoverCluster) Start(s *scope, c *lab.Cluster, interval time.Duration) *running {
	conf := func(dir string, h *lab.Host, extra ...string) string {
		path := filepath.Join(dir, "ipfailover")
		body := ipfailoverConf(dir, interval, nil) + "FAILOVER_NODE_NAME=" + h.Short + "\n"
		if d.arbiter {
			body += `FAILOVER_ARBITER="` + c.Etcd.Arbiter() + `"` + "\n"
		}
		for _, l := range extra {
			body += l + "\n"
		}
		writeFile(s, path, body, 0o644)
		return path
	}
	primaryCfg := conf(s.TempDir(), c.Primary)
	r := &running{startPrimary: func() *lab.Daemon {
		return c.Primary.Start(filepath.Join(d.bin, "heartbeatd"), "--config", primaryCfg)
	}}
	r.primary = []*lab.Daemon{r.startPrimary()}
	var sockets []string
	for i, h := range c.Standbys {
		dir := s.TempDir()
		cfg := conf(dir, h, "FAILOVER_PRIORITY="+strconv.Itoa(standbyPriorities[i]))
		r.secondary = append(r.secondary, h.Start(filepath.Join(d.bin, "failoverd"), "-d", "--config", cfg))
		sockets = append(sockets, filepath.Join(dir, "failoverd.sock"))
	}
	ctl := filepath.Join(d.bin, "failoverctl")
	r.stable = func() bool {
		if !holds(c.Primary.NS, vip) {
			return false
		}
		for i, h := range c.Standbys {
			if holds(h.NS, vip) || !d.standingBy(ctl, sockets[i], len(c.Standbys)) {
				return false
			}
		}
		return true
	}
	return r
}

// clusterStatus is what the bench reads of failoverctl status --json.
type clusterStatus struct {
	State    string `json:"state"`
	Standbys []struct {
		Name string
	} `json:"standbys"`
	Arbiter *struct {
		Reachable bool
		Holders   map[string]string
	} `json:"arbiter"`
}

// standingBy: the failoverd of socket stands by, hears the other
// standbys (of n in all), and, with the arbiter, reaches the majority
// and is told that the primary holds vip's key.
func (d ipfailoverCluster) standingBy(ctl, socket string, n int) bool {
	out, err := exec.Command(ctl, "--control-socket", socket, "status", "--json").Output()
	if err != nil {
		return false
	}
	var st clusterStatus
	if json.Unmarshal(out, &st) != nil || st.State != "standby" || len(st.Standbys) != n-1 {
		return false
	}
	if d.arbiter {
		return st.Arbiter != nil && st.Arbiter.Reachable && st.Arbiter.Holders[vip] == "s1"
	}
	return true
}

// ---- keepalived: three routers ----

// keepalivedCluster: keepalived on s1, s2 and s3 with priorities 200,
// 150 and 100, as the pair's (VRRPv3 on pub0, multicast, pre-empting).
type keepalivedCluster struct{}

func (keepalivedCluster) Name() string { return "keepalived" }
func (keepalivedCluster) Etcd() bool   { return false }

// keepalivedPriorities are s1's, s2's and s3's.
var keepalivedPriorities = []int{200, 150, 100}

func (keepalivedCluster) Start(s *scope, c *lab.Cluster, interval time.Duration) *running {
	useVirtualAddress(c.Primary.NS)
	dir := s.TempDir()
	vips := keepalivedVIPs(nil)
	r := &running{
		startPrimary: func() *lab.Daemon {
			return startKeepalived(s, dir, c.Primary.NS, c.Primary.Short, keepalivedPriorities[0], interval, vips)
		},
		stable: func() bool {
			if !holds(c.Primary.NS, vip) {
				return false
			}
			for _, h := range c.Standbys {
				if holds(h.NS, vip) {
					return false
				}
			}
			return true
		},
	}
	r.primary = []*lab.Daemon{r.startPrimary()}
	for i, h := range c.Standbys {
		r.secondary = append(r.secondary, startKeepalived(s, dir, h.NS, h.Short, keepalivedPriorities[i+1], interval, vips))
	}
	return r
}

// ---- the round ----

// partitionFor is how long the partition of the secondary lasts: a
// detection timeout for a takeover without the arbiter, the lease's TTL
// (a standby that took once the primary's lease ran out would show),
// another timeout, and a second.
func partitionFor(interval time.Duration) time.Duration {
	return arbiterTTL + 2*deadCount*interval + time.Second
}

// clusterRound runs the cluster's scenarios once on a fresh cluster lab:
//   - power off: every switch port of s1 down at once (the standbys, on
//     bridges, keep their carrier); s2, the standby of the highest
//     priority, must answer. Then s1's ports back up, and the cluster
//     settles with s1 answering (not measured);
//   - hung primary: nothing enters or leaves any of s1's links, which
//     keep their carrier (as the pair's); s2 must answer. Then s1's
//     traffic flows again and the cluster settles (not measured);
//   - partition of the secondary: s2 cut from s1 at the switch on every
//     segment (heartbeats on the private and the public bridge, and the
//     management one), s3, the client and etcd reaching both, for
//     partitionFor; then healed, and watched until s1 alone answers
//     again and a timeout more. Whoever answers: the measure is the time
//     two MACs answered for the address, from the cut to the end, and
//     whether s2 took over; the outage is the client's while the cut
//     lasted.
//
// A cluster that does not come back by itself to s1 answering alone
// after a scenario (within backWithin) has s1's daemon restarted, and
// the scenario's outcome says so (Restarted); after the partition,
// the last, it is only said.
func clusterRound(s *scope, d clusterConfig, interval time.Duration) map[string]outcome {
	c := lab.NewCluster(s, lab.ClusterOptions{Standbys: 2, Etcd: d.Etcd()})
	for i, h := range c.Servers {
		lab.Serve(s, h.NS, svcPort, "server"+strconv.Itoa(i+1))
	}
	cl := startClient(s, c.Client.NS)
	r := d.Start(s, c, interval)
	settle(s, r, cl.probe, interval, "at start")
	detect := deadCount * interval
	// With the arbiter a takeover waits for the primary's lease to
	// expire on the server: up to its TTL, half a second for etcd to
	// notice and a sixth of the TTL for the standby's next read.
	limit := 10*time.Second + 10*detect + 2*arbiterTTL
	hold := detect + 100*time.Millisecond
	out := map[string]outcome{}
	phase := func() { time.Sleep(rand.N(interval)) }
	// backWithin bounds the return to s1 answering alone after a
	// scenario: a give-back's hold-down, a lease's TTL to claim again, a
	// few timeouts and seconds.
	backWithin := 5*time.Second + 3*detect + arbiterTTL
	// back: the cluster back to s1 answering, or s1's daemon restarted.
	// stranded: the address on s1 alone, the client's entry on another
	// MAC.
	stranded := func() bool {
		return r.stable() && lab.Neighbour(c.Client.NS, "eth0", vip) != lab.MAC(s, c.Primary.NS, "pub0")
	}
	back := func(sc, what string) {
		if !waitFor(backWithin, func() bool { return r.stable() && cl.probe.Last() == "server1" }) {
			o := out[sc]
			o.Restarted, o.Stranded = true, stranded()
			out[sc] = o
			logf("%s three servers %v: the cluster did not come back by itself %s; restarting server1's daemon", d.Name(), interval, what)
			r.signalPrimary(syscall.SIGTERM)
			r.restartPrimary(s)
		}
		settle(s, r, cl.probe, interval, what)
	}

	phase()
	off := time.Now()
	c.PowerOff(c.Primary)
	out[PowerOff] = withAnswered(outage(s, cl, off, "server2", limit, hold), cl, off)
	c.PowerOn(c.Primary)
	back(PowerOff, "after the power came back")

	phase()
	hung := time.Now()
	c.Hang(c.Primary)
	out[Hung] = withAnswered(outage(s, cl, hung, "server2", limit, hold), cl, hung)
	c.Unhang(c.Primary)
	back(Hung, "after the hung primary came back")

	phase()
	cut := time.Now()
	s2 := c.Standbys[0]
	c.Cut([]*lab.Host{s2}, []*lab.Host{c.Primary})
	time.Sleep(partitionFor(interval))
	// The client's outage and a takeover while the cut lasted.
	o := measure(cl, cut, "server2")
	c.HealAll()
	// The two-owner time runs on until one owner is left (a give-back
	// waits for the hold-down), and a timeout more.
	settled := waitFor(backWithin, func() bool { return r.stable() && cl.probe.Last() == "server1" })
	time.Sleep(hold)
	all := measure(cl, cut, "server2")
	o.Dual, o.DualRounds, o.ARPRounds, o.ARPAnswered = all.Dual, all.DualRounds, all.ARPRounds, all.ARPAnswered
	o = withAnswered(o, cl, cut)
	if !settled {
		// Measured as it stands; nothing follows on this lab.
		o.Restarted, o.Stranded = true, stranded()
		logf("%s three servers %v: not back to server1 answering alone within %v of the healed partition", d.Name(), interval, backWithin)
	}
	out[Partition] = o
	return out
}

// withAnswered is o with who answered the client since from.
func withAnswered(o outcome, c client, from time.Time) outcome {
	o.Answered = answered(c, from)
	return o
}

// fmtClusterRound writes a cluster round's outcomes, scenario by
// scenario.
func fmtClusterRound(out map[string]outcome) string {
	var parts string
	for i, sc := range clusterScenarios {
		o := out[sc]
		if i > 0 {
			parts += "; "
		}
		moved := "server2 never answered"
		if o.Moved >= 0 {
			moved = "server2 answered after " + fmtMS(o.Moved) + " ms"
		}
		parts += fmt.Sprintf("%s %s ms, %s (dual %s ms, %d rounds; answered: %s)", sc, fmtMS(o.Outage), moved, fmtMS(o.Dual), o.DualRounds, strings.Join(o.Answered, " "))
		if o.Restarted {
			parts += " [not back by itself"
			if o.Stranded {
				parts += ": the client's neighbour entry on another MAC"
			}
			parts += "]"
		}
	}
	return parts
}

// ---- the runs ----

// pickClusters are the configurations names lists (commas), in the
// order of the bench's list.
func pickClusters(names, bin string) ([]clusterConfig, error) {
	var out []clusterConfig
	known := []clusterConfig{ipfailoverCluster{bin: bin}, ipfailoverCluster{bin: bin, arbiter: true}, keepalivedCluster{}}
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for _, c := range known {
		if want[c.Name()] {
			out = append(out, c)
			delete(want, c.Name())
		}
	}
	for n := range want {
		return nil, fmt.Errorf("-clusters: no configuration %q (ipfailover, ipfailover-arbiter, keepalived)", n)
	}
	return out, nil
}

// needs installs what the configurations run.
func clusterNeeds(cs []clusterConfig) error {
	for _, c := range cs {
		if _, ok := c.(keepalivedCluster); ok {
			if err := ensureInstalled("keepalived"); err != nil {
				return err
			}
		}
	}
	return nil
}

// measureClusters runs o.trials rounds of each configuration at each of
// o.clusterIntervals, interleaved trial by trial as the pair's are.
func measureClusters(o options, cs []clusterConfig) *clusterRun {
	if err := clusterNeeds(cs); err != nil {
		logf("three servers: %v", err)
		return nil
	}
	cr := &clusterRun{Trials: o.trials, Intervals: o.clusterIntervals, TTL: arbiterTTL,
		Partition: map[string]time.Duration{}, Outcomes: map[string]map[string]map[string][]outcome{},
		Load: map[string]map[string][]float64{}}
	for _, c := range cs {
		cr.Configs = append(cr.Configs, c.Name())
		cr.Outcomes[c.Name()] = map[string]map[string][]outcome{}
		cr.Load[c.Name()] = map[string][]float64{}
	}
	started := time.Now()
	for trial := 1; trial <= o.trials; trial++ {
		for _, iv := range o.clusterIntervals {
			cr.Partition[iv.String()] = partitionFor(iv)
			for _, c := range cs {
				name := fmt.Sprintf("three servers %s %v trial %d", c.Name(), iv, trial)
				var out map[string]outcome
				err := run(name, func(s *scope) { out = clusterRound(s, c, iv) })
				load := loadAverage()
				if err != nil {
					logf("%v (trial not counted; load %.2f)", err, load)
					continue
				}
				byIv := cr.Outcomes[c.Name()]
				if byIv[iv.String()] == nil {
					byIv[iv.String()] = map[string][]outcome{}
				}
				for sc, v := range out {
					byIv[iv.String()][sc] = append(byIv[iv.String()][sc], v)
				}
				cr.Load[c.Name()][iv.String()] = append(cr.Load[c.Name()][iv.String()], load)
				logf("%s: %s; load %.2f", name, fmtClusterRound(out), load)
			}
		}
	}
	logf("three-server trials took %v", time.Since(started).Round(time.Second))
	cr.Measured, cr.Setting = time.Now(), versions(firstLine("keepalived", "--version"), firstLine("etcd", "--version"))
	return cr
}

// clusterOnly measures the three servers and writes them into -raw beside
// the pair's figures, CPU and announcing that it held, and the page from
// it all.
func clusterOnly(o options, cs []clusterConfig) error {
	s, err := readRaw(o.raw)
	if err != nil {
		return fmt.Errorf("-cluster-only keeps the pair's figures of -raw: %w", err)
	}
	cr := measureClusters(o, cs)
	if cr == nil {
		return fmt.Errorf("three servers: nothing measured")
	}
	s.Cluster = cr
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.raw, b, 0o644); err != nil {
		return err
	}
	logf("wrote %s", o.raw)
	return reportFromRaw(o, pairDaemons(""))
}

// loadAverage is the machine's load average over the last minute.
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// smokeClusters runs one round of each configuration at smokeInterval
// and checks it as TestSmokeCluster does.
func smokeClusters(cs []clusterConfig) error {
	if err := clusterNeeds(cs); err != nil {
		return err
	}
	var problems []string
	for _, c := range cs {
		out, err := clusterSmokeRound(c)
		if err != nil {
			return err
		}
		fmt.Printf("smoke, three servers, %s: %s\n", c.Name(), fmtClusterRound(out))
		for _, p := range clusterSmokeProblems(c, out, smokeInterval) {
			problems = append(problems, c.Name()+": "+p)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("three-server smoke rounds out of bounds:\n\t%s", strings.Join(problems, "\n\t"))
	}
	return nil
}

// clusterSmokeRound runs one round of c at smokeInterval.
func clusterSmokeRound(c clusterConfig) (map[string]outcome, error) {
	var out map[string]outcome
	err := run("smoke three servers "+c.Name(), func(s *scope) { out = clusterRound(s, c, smokeInterval) })
	return out, err
}

// clusterSmokeProblems says where a three-server round of c at interval
// is out of bounds:
//   - power off and hung primary: server2 (the standby of the highest
//     priority) takes over, and holds it (server1 cannot answer, so the
//     client is not left unanswered for an interval after server2's
//     first answer, nor answered by another); no ARP round answered by
//     two MACs. The outage: ipfailover without the arbiter as the pair's
//     hung primary (the standbys are on bridges: no carrier is lost,
//     the probes decide); with the arbiter the primary's lease must
//     expire first, at most its TTL after its last renewal, half a
//     second for etcd to notice and a sixth of the TTL for the
//     standby's next read; keepalived, VRRP's master-down interval
//     (three advertisements and the skew, under one more) and the
//     reaction.
//   - partition of the secondary, with the arbiter: server2 never
//     answers and no round has two owners, and the cluster comes back
//     by itself; without it, whatever happens (measured, not bounded).
//   - every scenario's ARP rounds were answered by someone.
func clusterSmokeProblems(c clusterConfig, out map[string]outcome, interval time.Duration) []string {
	var problems []string
	for _, sc := range clusterScenarios {
		o, ok := out[sc]
		if !ok {
			problems = append(problems, sc+": not measured")
			continue
		}
		if o.ARPAnswered == 0 {
			problems = append(problems, fmt.Sprintf("%s: none of the %d ARP rounds answered", sc, o.ARPRounds))
		}
	}
	probes := interval*5/4 + interval/8 + 4*time.Millisecond
	bound := probes + smokeSlack
	switch d := c.(type) {
	case ipfailoverCluster:
		if d.arbiter {
			bound = arbiterTTL + 500*time.Millisecond + arbiterTTL/6 + probes + smokeSlack
		}
	case keepalivedCluster:
		bound = (deadCount+1)*interval + smokeSlack
	}
	for _, sc := range []string{PowerOff, Hung} {
		o, ok := out[sc]
		if !ok {
			continue
		}
		if o.Outage > bound {
			problems = append(problems, fmt.Sprintf("%s: outage %v, want at most %v (interval %v)", sc, o.Outage, bound, interval))
		}
		if o.Moved < 0 {
			problems = append(problems, fmt.Sprintf("%s: server2 never answered", sc))
		} else if o.After > interval || o.Others > 0 {
			problems = append(problems, fmt.Sprintf("%s: the takeover did not hold: %v unanswered after server2's first answer, %d answers from another server", sc, o.After, o.Others))
		}
		if o.DualRounds > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d ARP rounds answered by two MACs", sc, o.DualRounds))
		}
	}
	if d, ok := c.(ipfailoverCluster); ok && d.arbiter {
		if o, ok := out[Partition]; ok {
			if o.Moved >= 0 {
				problems = append(problems, fmt.Sprintf("%s: server2 answered after %v though the primary renewed its lease", Partition, o.Moved))
			}
			if o.DualRounds > 0 {
				problems = append(problems, fmt.Sprintf("%s: %d ARP rounds answered by two MACs (%v)", Partition, o.DualRounds, o.Dual))
			}
			if o.Restarted {
				problems = append(problems, Partition+": not back to server1 alone by itself after the cut healed")
			}
		}
	}
	return problems
}
