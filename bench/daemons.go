package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// vip is the address the client asks for: server1's public address for
// ipfailover (as designed), a virtual address for keepalived and ucarp.
const vip = lab.Server1Pub

// server1Real is server1's own public address when vip is virtual.
const server1Real = "198.51.100.11"

// deadCount is how many intervals of silence make a peer dead, for every
// daemon (VRRP fixes it at 3; the others are told so).
const deadCount = 3

// daemon is one failover implementation under test.
type daemon interface {
	Name() string
	// Supports says whether the daemon can run at this interval.
	Supports(interval time.Duration) bool
	// Heartbeats is how many heartbeats (advertisements) the active
	// server sends each interval: one for each link it sends on.
	Heartbeats() int
	// Start sets up and starts both servers' daemons, with extra
	// addresses (beyond vip) to take over.
	Start(s *scope, p *lab.Pair, interval time.Duration, extra []string) *running
}

// running is a started pair of daemons.
type running struct {
	primary, secondary []*lab.Daemon // the processes on server1 and server2
	// stable reports whether server1 is active and server2 standing by.
	stable func() bool
	// startPrimary starts server1's daemon, at first and again after it
	// stopped.
	startPrimary func() *lab.Daemon
}

// signalPrimary sends sig to server1's daemon: SIGTERM is every daemon's
// planned stop, SIGKILL a crash.
func (r *running) signalPrimary(sig os.Signal) {
	for _, d := range r.primary {
		_ = d.Signal(sig)
	}
}

// awaitPrimaryExit waits until server1's stopped daemon has exited.
func (r *running) awaitPrimaryExit(s *scope) {
	for _, d := range r.primary {
		if d.Wait(10*time.Second) < 0 {
			s.Fatalf("server1's daemon still runs 10 s after it was stopped")
		}
	}
}

// restartPrimary starts server1's daemon again once it has exited.
func (r *running) restartPrimary(s *scope) {
	r.awaitPrimaryExit(s)
	r.primary = []*lab.Daemon{r.startPrimary()}
}

func writeFile(s *scope, path, body string, mode os.FileMode) {
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		s.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		s.Fatal(err)
	}
}

func holds(ns *lab.NS, addr string) bool {
	out, _ := ns.Run("ip", "-o", "addr", "show", "dev", "pub0")
	return strings.Contains(out, " "+addr+"/")
}

// useVirtualAddress gives server1 (s1) a real public address of its own,
// so that vip is only ever held by the VRRP or CARP master.
func useVirtualAddress(s1 *lab.NS) {
	s1.MustRun("ip", "addr", "del", lab.Server1Pub+lab.PubNet, "dev", "pub0")
	s1.Addr("pub0", server1Real+lab.PubNet)
}

// ---- ipfailover ----

// ipfailover takes over server1's own public address (host address), or,
// with service, a service address that heartbeatd holds on server1 while
// it runs (FAILOVER_SERVICE_IPS), server1 having an address of its own.
//
// With metrics, both daemons serve Prometheus metrics
// (FAILOVER_METRICS_ADDR) and are scraped every metricsScrape, so that
// the CPU time with metrics on can be set beside the time without.
type ipfailover struct {
	bin     string
	service bool
	metrics bool
}

func (d ipfailover) Name() string {
	switch {
	case d.service:
		return "ipfailover-service"
	case d.metrics:
		return "ipfailover-metrics"
	}
	return "ipfailover"
}
func (ipfailover) Supports(time.Duration) bool { return true }
func (ipfailover) Heartbeats() int             { return 2 } // private and public link

func (d ipfailover) Start(s *scope, p *lab.Pair, interval time.Duration, extra []string) *running {
	if d.service {
		useVirtualAddress(p.S1)
	}
	dir := s.TempDir()
	conf := ipfailoverConf(dir, interval, extra)
	var metricsFlag []string
	if d.metrics {
		// Each daemon in its own namespace: one address serves both.
		metricsFlag = []string{"--metrics-addr", metricsAddr}
		scrapeMetrics(s, p.S1)
		scrapeMetrics(s, p.S2)
	}
	cfg := filepath.Join(dir, "ipfailover")
	writeFile(s, cfg, conf, 0o644)
	primaryCfg := cfg
	if d.service {
		primaryCfg = filepath.Join(dir, "ipfailover-primary")
		writeFile(s, primaryCfg, conf+`FAILOVER_SERVICE_IPS="pub0:`+vip+`"`+"\n", 0o644)
	}
	r := &running{startPrimary: func() *lab.Daemon {
		return p.S1.Start(filepath.Join(d.bin, "heartbeatd"), append([]string{"--config", primaryCfg}, metricsFlag...)...)
	}}
	r.primary = []*lab.Daemon{r.startPrimary()}
	r.secondary = []*lab.Daemon{p.S2.Start(filepath.Join(d.bin, "failoverd"), append([]string{"-d", "--config", cfg}, metricsFlag...)...)}
	ctl := filepath.Join(d.bin, "failoverctl")
	r.stable = func() bool {
		out, _ := exec.Command(ctl, "--control-socket", dir+"/failoverd.sock", "status", "--json").Output()
		return strings.Contains(string(out), `"state": "standby"`) && holds(p.S1, vip) && !holds(p.S2, vip)
	}
	return r
}

// ipfailoverConf is the configuration of the pair's servers, and of
// every server of the cluster before its own lines: heartbeats on the
// private and public link, vip and extra (beyond vip) taken over on
// pub0, a dead count of deadCount, no hooks (an empty hook folder), and
// the sockets and state in dir.
func ipfailoverConf(dir string, interval time.Duration, extra []string) string {
	pairs := []string{"pub0:" + vip}
	for _, a := range extra {
		pairs = append(pairs, "pub0:"+a+"/32")
	}
	return strings.Join([]string{
		`FAILOVER_BCAST_IPS="` + lab.PrivBroadcast + " " + lab.PubBroadcast + `"`,
		"FAILOVER_INTERVAL=" + interval.String(),
		`FAILOVER_PEER_IP="` + lab.Server1Priv + `"`,
		`FAILOVER_PEER_IP_PAIRS="` + strings.Join(pairs, " ") + `"`,
		"FAILOVER_DEAD_COUNT=" + fmt.Sprint(deadCount),
		"FAILOVER_INITIAL_GRACE=1s",
		"FAILOVER_GIVEBACK_HOLDDOWN=" + max(3*interval, 500*time.Millisecond).String(),
		"FAILOVER_HOOK_DIR=" + dir + "/hooks",
		"FAILOVER_SENDMAIL=",
		"FAILOVER_CONTROL_SOCKET=" + dir + "/failoverd.sock",
		"FAILOVER_LOCK_SOCKET=" + dir + "/heartbeatd.sock",
		"FAILOVER_STATE_DIR=" + dir + "/state",
	}, "\n") + "\n"
}

// ---- keepalived (VRRPv3) ----

type keepalived struct{}

func (keepalived) Name() string                { return "keepalived" }
func (keepalived) Heartbeats() int             { return 1 }
func (keepalived) Supports(time.Duration) bool { return true } // VRRPv3: centiseconds

func (keepalived) Start(s *scope, p *lab.Pair, interval time.Duration, extra []string) *running {
	useVirtualAddress(p.S1)
	dir := s.TempDir()
	vips := keepalivedVIPs(extra)
	r := &running{
		startPrimary: func() *lab.Daemon { return startKeepalived(s, dir, p.S1, "s1", 200, interval, vips) },
		stable:       func() bool { return holds(p.S1, vip) && !holds(p.S2, vip) },
	}
	r.primary = []*lab.Daemon{r.startPrimary()}
	r.secondary = []*lab.Daemon{startKeepalived(s, dir, p.S2, "s2", 100, interval, vips)}
	return r
}

// keepalivedVIPs is vip (its /24) and extra (each a /32) as
// virtual_ipaddress lists them.
func keepalivedVIPs(extra []string) []string {
	vips := []string{vip + "/24"}
	for _, a := range extra {
		vips = append(vips, a+"/32")
	}
	return vips
}

// startKeepalived starts keepalived in ns as router name with priority:
// one VRRPv3 instance on pub0 (multicast advertisements), every router
// starting as backup, the highest priority pre-empting; its files in dir.
func startKeepalived(s *scope, dir string, ns *lab.NS, name string, priority int, interval time.Duration, vips []string) *lab.Daemon {
	conf := fmt.Sprintf(`global_defs {
	router_id %s
	vrrp_version 3
	script_user root
	enable_script_security
}
vrrp_instance VI_1 {
	state BACKUP
	interface pub0
	virtual_router_id 51
	priority %d
	advert_int %s
	virtual_ipaddress {
		%s
	}
}
`, name, priority, advertInt(interval), strings.Join(vips, "\n\t\t"))
	cfg := filepath.Join(dir, name+".conf")
	writeFile(s, cfg, conf, 0o644)
	return ns.Start("keepalived", "--dont-fork", "--log-console", "--no-syslog", "--vrrp",
		"-f", cfg, "-p", filepath.Join(dir, name+".pid"), "-r", filepath.Join(dir, name+"-vrrp.pid"))
}

// advertInt writes an interval in VRRPv3's seconds with centiseconds.
func advertInt(d time.Duration) string {
	return fmt.Sprintf("%.2f", d.Seconds())
}

// ---- ucarp (CARP) ----

type ucarp struct{}

func (ucarp) Name() string    { return "ucarp" }
func (ucarp) Heartbeats() int { return 1 }

// Supports: ucarp advertises in whole seconds only.
func (ucarp) Supports(d time.Duration) bool { return d%time.Second == 0 }

func (ucarp) Start(s *scope, p *lab.Pair, interval time.Duration, extra []string) *running {
	if len(extra) > 0 {
		s.Fatal("ucarp manages one address per instance")
	}
	useVirtualAddress(p.S1)
	dir := s.TempDir()
	up := filepath.Join(dir, "up.sh")
	down := filepath.Join(dir, "down.sh")
	writeFile(s, up, "#!/bin/sh\nexec ip addr add "+vip+lab.PubNet+" dev \"$1\"\n", 0o755)
	writeFile(s, down, "#!/bin/sh\nexec ip addr del "+vip+lab.PubNet+" dev \"$1\"\n", 0o755)
	start := func(ns *lab.NS, src string, skew int) *lab.Daemon {
		return ns.Start("ucarp", "-i", "pub0", "-s", src, "-v", "1", "-p", "bench", "-a", vip,
			"-b", fmt.Sprint(int(interval/time.Second)), "-k", fmt.Sprint(skew), "-r", fmt.Sprint(deadCount), "-P", "-z",
			"-u", up, "-d", down)
	}
	r := &running{
		startPrimary: func() *lab.Daemon { return start(p.S1, server1Real, 0) },
		stable:       func() bool { return holds(p.S1, vip) && !holds(p.S2, vip) },
	}
	r.primary = []*lab.Daemon{r.startPrimary()}
	r.secondary = []*lab.Daemon{start(p.S2, lab.Server2Pub, 100)}
	return r
}
