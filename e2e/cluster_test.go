package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/lab"
)

// A cluster world: the primary (s1, heartbeatd) and several standbys
// (s2, s3, ..., each a failoverd with a priority of its own) on the
// cluster lab's public, private and management bridges, optionally three
// etcd members as the arbiter, the client asking the service on the
// public address every 10 ms and an ARP watch on it recording every MAC
// that answers for the address. Each daemon passes its notices to a
// script that appends them to a file of its own.

// vip is the address the standbys take: the primary's public address
// (its host address, or a service address heartbeatd holds).
const vip = lab.Server1Pub

// primaryOwn is the primary's own public address when the public address
// is a service address.
const primaryOwn = "198.51.100.11"

type cluster struct {
	t *testing.T
	*lab.Cluster
	dir string

	primaryConf []string
	primary     *lab.Daemon
	service     bool // the public address is heartbeatd's service address

	standbys []*standbyd
	probe    *lab.Probe
	aw       *lab.ARPWatch
	addrs    map[*lab.Host]*addrMonitor
}

// standbyd is one failoverd of a cluster world.
type standbyd struct {
	c        *cluster
	host     *lab.Host
	name     string
	priority int
	dir      string
	conf     []string
	d        *lab.Daemon
}

type clusterOptions struct {
	priorities  []int // one standby each, s2 first
	etcd        bool
	service     bool     // the public address is a service address of heartbeatd's
	conf        []string // every failoverd's configuration, added
	primaryConf []string
}

// newClusterWorld builds the lab (with etcd when asked) and the
// configurations, and starts the client's probe and ARP watch and an
// address monitor in every server; the daemons start with startPrimary
// and start.
func newClusterWorld(t *testing.T, o clusterOptions) *cluster {
	lc := lab.NewCluster(t, lab.ClusterOptions{Standbys: len(o.priorities), Etcd: o.etcd, Management: true})
	c := &cluster{t: t, Cluster: lc, dir: t.TempDir(), service: o.service, addrs: map[*lab.Host]*addrMonitor{}}
	must(t, os.Chmod(c.dir, 0o755))
	lines, _ := noticeConf(t, c.dir, "notices.s1")
	c.primaryConf = append([]string{"FAILOVER_LOCK_SOCKET=" + filepath.Join(c.dir, "heartbeatd.sock"), "FAILOVER_NODE_NAME=s1"}, lines...)
	if o.service {
		c.primaryConf = append(c.primaryConf, `FAILOVER_SERVICE_IPS="pub0:`+vip+`"`)
		c.Primary.MustRun("ip", "addr", "del", vip+lab.PubNet, "dev", "pub0")
		c.Primary.Addr("pub0", primaryOwn+lab.PubNet)
	}
	c.primaryConf = append(c.primaryConf, o.primaryConf...)
	for i, p := range o.priorities {
		h := c.Standbys[i]
		s := &standbyd{c: c, host: h, name: h.Short, priority: p, dir: filepath.Join(c.dir, h.Short)}
		must(t, os.MkdirAll(filepath.Join(s.dir, "hooks", vip), 0o755))
		// Test says yes and logs that it ran: a standby that yields must
		// not run it.
		must(t, os.WriteFile(filepath.Join(s.dir, "hooks", vip, "Test"),
			[]byte("#!/bin/sh\necho \"$FAILOVER_STAGE $FAILOVER_ACTION\" >> "+filepath.Join(s.dir, "hooks.log")+"\n"), 0o755))
		lines, _ := noticeConf(t, s.dir, "notices")
		s.conf = append([]string{
			`FAILOVER_PEER_IP="` + lab.Server1Priv + `"`,
			`FAILOVER_PEER_IP_PAIRS="pub0:` + vip + `"`,
			"FAILOVER_NODE_NAME=" + s.name,
			"FAILOVER_PRIORITY=" + strconv.Itoa(p),
			"FAILOVER_INITIAL_GRACE=1s",
			"FAILOVER_HOOK_DIR=" + filepath.Join(s.dir, "hooks"),
			"FAILOVER_CONTROL_SOCKET=" + s.socket(),
			"FAILOVER_STATE_DIR=" + filepath.Join(s.dir, "state"),
			"FAILOVER_RECONCILE_INTERVAL=500ms",
		}, lines...)
		s.conf = append(s.conf, o.conf...)
		c.standbys = append(c.standbys, s)
	}
	for _, h := range c.Servers {
		lab.Serve(t, h.NS, svcPort, h.Short)
		c.addrs[h] = monitorAddrs(t, h)
	}
	c.probe = lab.StartProbe(t, c.Client.NS, vip, svcPort, 10*time.Millisecond)
	c.aw = lab.StartARPWatch(t, c.Client.NS, "eth0", vip, watchEvery)
	t.Cleanup(func() {
		if t.Failed() {
			c.dump()
		}
	})
	return c
}

// withArbiter is the configuration of every daemon for the lab's etcd.
func (c *cluster) withArbiter(lost string) []string {
	return []string{"FAILOVER_ARBITER=" + c.Etcd.Arbiter(), "FAILOVER_ARBITER_LOST=" + lost}
}

// dump logs what every daemon printed and noticed, for a failed test.
func (c *cluster) dump() {
	if c.primary != nil {
		c.t.Logf("heartbeatd (s1):\n%s\nits notices:\n%s", c.primary.Output(), readNotices(filepath.Join(c.dir, "notices.s1")))
	}
	for _, s := range c.standbys {
		if s.d != nil {
			c.t.Logf("failoverd %s (priority %d):\n%s\nits notices:\n%s\nits status:\n%s", s.name, s.priority, s.d.Output(), s.notices(), s.statusText())
		}
	}
	for _, h := range c.Servers {
		c.t.Logf("addresses of %s as they changed:\n%s", h.Short, c.addrs[h].d.Output())
	}
}

// startPrimary starts heartbeatd on s1 (again: a fresh process) and,
// with a service address, waits until it holds it.
func (c *cluster) startPrimary() {
	c.t.Helper()
	cfg := filepath.Join(c.dir, "heartbeatd.conf")
	must(c.t, os.WriteFile(cfg, []byte(strings.Join(c.primaryConf, "\n")+"\n"), 0o644))
	c.primary = c.Primary.Start(filepath.Join(bin, "heartbeatd"), "-d", "--config", cfg, "--interval", interval.String(),
		lab.PrivBroadcast, lab.PubBroadcast)
}

// start starts failoverd on s's host.
func (s *standbyd) start() {
	s.c.t.Helper()
	cfg := filepath.Join(s.dir, "ipfailover")
	must(s.c.t, os.WriteFile(cfg, []byte(strings.Join(s.conf, "\n")+"\n"), 0o644))
	s.d = s.host.Start(filepath.Join(bin, "failoverd"), "-d", "--config", cfg)
}

// startAll starts heartbeatd and every failoverd, and waits until the
// client is answered by s1 and every standby is in standby, has heard
// the primary on both links and hears every other standby.
func (c *cluster) startAll() {
	c.t.Helper()
	c.startPrimary()
	if c.service && !lab.WaitFor(5*time.Second, func() bool { return c.holds(c.Primary) }) {
		c.t.Fatalf("heartbeatd did not add its service address:\n%s", c.primary.Output())
	}
	for _, s := range c.standbys {
		s.start()
	}
	for _, s := range c.standbys {
		s.waitState("standby", 5*time.Second)
		if !lab.WaitFor(3*time.Second, func() bool {
			st := s.status()
			for _, l := range st.Links {
				if l.LastHeard.IsZero() {
					return false
				}
			}
			return len(st.Links) == 2 && len(st.Standbys) == len(c.standbys)-1
		}) {
			c.t.Fatalf("%s has not heard the primary on both links and the %d other standbys:\n%s", s.name, len(c.standbys)-1, s.statusText())
		}
	}
	c.waitAnswerFrom(c.Primary, 2*time.Second)
}

func (s *standbyd) socket() string { return filepath.Join(s.dir, "failoverd.sock") }

func (s *standbyd) ctl(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "failoverctl"), append([]string{"--control-socket", s.socket()}, args...)...).CombinedOutput()
	return string(out), err
}

func (s *standbyd) status() control.Status {
	var st control.Status
	if out, err := s.ctl("status", "--json"); err == nil {
		_ = json.Unmarshal([]byte(out), &st)
	}
	return st
}

func (s *standbyd) statusText() string {
	out, _ := s.ctl("status")
	return out
}

func (s *standbyd) state() string { return string(s.status().State) }

func (s *standbyd) waitState(state string, d time.Duration) {
	s.c.t.Helper()
	if !lab.WaitFor(d, func() bool { return s.state() == state }) {
		s.c.t.Fatalf("failoverd %s not %s within %v (state %q)", s.name, state, d, s.state())
	}
}

// yieldsTo says s's status names to as the standby it leaves the
// addresses to, holding them.
func (s *standbyd) yieldsTo(to string) bool {
	y := s.status().Yielding
	return y != nil && y.To == to && y.Holds
}

func (s *standbyd) notices() string { return readNotices(filepath.Join(s.dir, "notices")) }

// noticeKinds lists the kinds of s's notices, in order.
func (s *standbyd) noticeKinds() []string { return kinds(s.notices()) }

func kinds(notices string) []string {
	var out []string
	for _, l := range strings.Split(notices, "\n") {
		var n struct{ Kind string }
		if json.Unmarshal([]byte(l), &n) == nil && n.Kind != "" {
			out = append(out, n.Kind)
		}
	}
	return out
}

// tests lists the runs of s's Test hook ("Test acquire").
func (s *standbyd) tests() []string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "hooks.log"))
	if t := strings.TrimSpace(string(b)); t != "" {
		return strings.Split(t, "\n")
	}
	return nil
}

// holds says h holds the public address.
func (c *cluster) holds(h *lab.Host) bool { return hasAddr(h.NS) }

// holders are the servers that hold the public address now.
func (c *cluster) holders() []string {
	var out []string
	for _, h := range c.Servers {
		if c.holds(h) {
			out = append(out, h.Short)
		}
	}
	return out
}

// waitAnswerFrom waits until the client is answered by h's service.
func (c *cluster) waitAnswerFrom(h *lab.Host, d time.Duration) {
	c.t.Helper()
	if !lab.WaitFor(d, func() bool { return c.probe.Last() == h.Short }) {
		c.t.Fatalf("the client is not answered by %s within %v (last answer from %q; holders %v)", h.Short, d, c.probe.Last(), c.holders())
	}
}

// answeredBy is how long after from the client was first answered by h.
func (c *cluster) answeredBy(h *lab.Host, from time.Time) time.Duration {
	for _, r := range c.probe.Replies() {
		if r.From == h.Short && r.At.After(from) {
			return r.At.Sub(from)
		}
	}
	return -1
}

// macOf is h's public MAC.
func (c *cluster) macOf(h *lab.Host) string { return lab.MAC(c.t, h.NS, "pub0") }

// noDual fails the test if a round of the ARP watch since since was
// answered by two MACs, and returns how many rounds there were.
func (c *cluster) noDual(since time.Time) int {
	c.t.Helper()
	now := time.Now()
	if n, span := c.aw.Dual(since, now); n > 0 {
		c.t.Errorf("%d rounds (%v) answered by two MACs: %v", n, span, c.aw.Owners(since, now))
	}
	n := 0
	for _, r := range c.aw.Rounds() {
		if !r.At.Before(since) && r.At.Before(now) {
			n++
		}
	}
	dual, _ := c.aw.Dual(since, now)
	c.t.Logf("ARP watch: %d rounds in %v, %d answered by two MACs", n, now.Sub(since).Round(time.Millisecond), dual)
	return n
}

// powerOff is a host losing its power: its cables dark at the switch
// (lab.Cluster.PowerOff), and then its daemon dead and the address it
// held gone with it, as after a power cut (the lab's PowerOff leaves the
// processes running, which a real power cut does not: such a daemon
// would come back on the links with its old state when they do).
func (c *cluster) powerOff(h *lab.Host, d *lab.Daemon) {
	c.t.Helper()
	c.PowerOff(h)
	_ = d.Signal(syscall.SIGKILL)
	d.Wait(5 * time.Second) // -1 either way: killed by a signal
	if alive(d.Cmd.Process.Pid) {
		c.t.Fatalf("the daemon of %s still runs 5 s after SIGKILL", h.Short)
	}
	if c.holds(h) {
		out, _ := h.Run("ip", "-o", "addr", "show", "dev", "pub0")
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 3 && strings.HasPrefix(f[3], vip+"/") {
				h.MustRun("ip", "addr", "del", f[3], "dev", "pub0")
			}
		}
	}
}

// addrMonitor is `ip -ts monitor address` in a host: every change of its
// addresses with the kernel's time of it, on the test's clock.
type addrMonitor struct {
	d *lab.Daemon
}

func monitorAddrs(t *testing.T, h *lab.Host) *addrMonitor {
	return &addrMonitor{d: h.Start("ip", "-ts", "monitor", "address")}
}

// addrEvent is one change of the public address in a host.
type addrEvent struct {
	At    time.Time
	Added bool // or deleted
}

var monitorLine = regexp.MustCompile(`^\[(\S+)\] (Deleted )?\d+: \S+\s+inet (\S+)/`)

// events are the changes of the public address the monitor saw.
func (m *addrMonitor) events() []addrEvent {
	var out []addrEvent
	sc := bufio.NewScanner(strings.NewReader(m.d.Output()))
	for sc.Scan() {
		f := monitorLine.FindStringSubmatch(sc.Text())
		if f == nil || f[3] != vip {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02T15:04:05.000000", f[1], time.Local)
		if err != nil {
			continue
		}
		out = append(out, addrEvent{At: at, Added: f[2] == ""})
	}
	return out
}

// firstAdd is when the monitor first saw the public address added after
// since; zero if it did not.
func (m *addrMonitor) firstAdd(since time.Time) time.Time {
	for _, e := range m.events() {
		if e.Added && !e.At.Before(since) {
			return e.At
		}
	}
	return time.Time{}
}

// firstDelete is firstAdd for a removal.
func (m *addrMonitor) firstDelete(since time.Time) time.Time {
	for _, e := range m.events() {
		if !e.Added && !e.At.Before(since) {
			return e.At
		}
	}
	return time.Time{}
}

// oneHolderAtATime replays every server's address changes since since and
// fails the test at any moment two servers held the public address at
// once (as their kernels say, whatever the client could hear); held is
// who held it at since.
func (c *cluster) oneHolderAtATime(since time.Time, held ...*lab.Host) {
	c.t.Helper()
	type ev struct {
		addrEvent
		h *lab.Host
	}
	var evs []ev
	for _, h := range c.Servers {
		for _, e := range c.addrs[h].events() {
			if !e.At.Before(since) {
				evs = append(evs, ev{e, h})
			}
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.At.Compare(b.At) })
	holding := map[*lab.Host]bool{}
	for _, h := range held {
		holding[h] = true
	}
	for _, e := range evs {
		holding[e.h] = e.Added
		var who []string
		for h, on := range holding {
			if on {
				who = append(who, h.Short)
			}
		}
		if len(who) > 1 {
			slices.Sort(who)
			c.t.Errorf("at %s %v held %s at once (as their kernels say)", e.At.Format("15:04:05.000000"), who, vip)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
