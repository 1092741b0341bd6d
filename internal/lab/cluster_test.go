package lab

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heard counts the datagrams to port that arrive in a namespace, by
// their payload.
type heard struct {
	mu  sync.Mutex
	got map[string]int
}

func listen(t *testing.T, ns *NS, port int) *heard {
	t.Helper()
	c := ns.ListenUDP(t, port)
	h := &heard{got: map[string]int{}}
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			h.mu.Lock()
			h.got[string(buf[:n])]++
			h.mu.Unlock()
		}
	}()
	return h
}

// all reports whether every payload of want arrived.
func (h *heard) all(want ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range want {
		if h.got[w] == 0 {
			return false
		}
	}
	return true
}

// none reports whether no payload of want arrived.
func (h *heard) none(want ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range want {
		if h.got[w] != 0 {
			return false
		}
	}
	return true
}

func (h *heard) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fmt.Sprint(h.got)
}

// beacon sends "<name>/<phase>" to a broadcast address every 20 ms until
// the test ends, as the daemons send heartbeats; the test moves the
// phase on, so that what arrives tells when it was sent.
type beacon struct{ phase atomic.Value }

func broadcast(t *testing.T, ns *NS, name, to string, port int) *beacon {
	t.Helper()
	c := ns.ListenUDP(t, 0)
	b := &beacon{}
	b.phase.Store("before")
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	dst := &net.UDPAddr{IP: net.ParseIP(to), Port: port}
	go func() {
		defer close(done)
		for {
			_, _ = c.WriteTo([]byte(name+"/"+b.phase.Load().(string)), dst)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return b
}

// A cut drops the broadcasts of one server to another on both heartbeat
// segments while a third, on the same bridges, still hears both; healing
// brings them back. A private segment shared by three servers carries one
// server's broadcast to both others.
func TestCutDropsBroadcastsBetweenTwoServersOnly(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Standbys: 2})
	const port = 1694
	var at [3]*heard
	for i, s := range c.Servers {
		at[i] = listen(t, s.NS, port)
	}
	beacons := []*beacon{
		broadcast(t, c.Servers[0].NS, "s1 priv", PrivBroadcast, port),
		broadcast(t, c.Servers[0].NS, "s1 pub", PubBroadcast, port),
		broadcast(t, c.Servers[1].NS, "s2 priv", PrivBroadcast, port),
	}
	phase := func(p string) {
		for _, b := range beacons {
			b.phase.Store(p)
		}
	}
	if !WaitFor(5*time.Second, func() bool {
		return at[1].all("s1 priv/before", "s1 pub/before") && at[2].all("s1 priv/before", "s1 pub/before", "s2 priv/before")
	}) {
		t.Fatalf("before any cut: s2 heard %v, s3 heard %v", at[1], at[2])
	}

	c.Cut([]*Host{c.Servers[0]}, []*Host{c.Servers[1]})
	if !c.IsCut(c.Servers[1], c.Servers[0]) || c.IsCut(c.Servers[0], c.Servers[2]) {
		t.Fatalf("IsCut(s2, s1) %v, IsCut(s1, s3) %v after cutting s1 from s2",
			c.IsCut(c.Servers[1], c.Servers[0]), c.IsCut(c.Servers[0], c.Servers[2]))
	}
	phase("cut")
	if !Stays(time.Second, func() bool { return at[1].none("s1 priv/cut", "s1 pub/cut") && at[0].none("s2 priv/cut") }) {
		t.Fatalf("through the cut: s2 heard %v, s1 heard %v", at[1], at[0])
	}
	if !at[2].all("s1 priv/cut", "s1 pub/cut", "s2 priv/cut") {
		t.Fatalf("s3, not cut, stopped hearing: %v", at[2])
	}

	c.HealAll()
	phase("healed")
	if !WaitFor(5*time.Second, func() bool { return at[1].all("s1 priv/healed", "s1 pub/healed") && at[0].all("s2 priv/healed") }) {
		t.Fatalf("after healing s1 and s2 still do not hear each other: s2 heard %v, s1 heard %v", at[1], at[0])
	}
}

// A cut between a server and the client stops unicast both ways (the
// client's ARP and requests), and Isolate cuts a host from every other
// one; what is healed flows again.
func TestIsolateCutsUnicastToEveryone(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Standbys: 1, Management: true})
	ping := func(from *Host, to string) bool {
		_, err := from.Run("ping", "-c", "1", "-W", "1", to)
		return err == nil
	}
	s1, s2 := c.Primary, c.Standbys[0]
	for _, to := range []string{s1.Pub, s2.Pub} {
		if !WaitFor(5*time.Second, func() bool { return ping(c.Client, to) }) {
			t.Fatalf("client cannot reach %s before any cut", to)
		}
	}
	c.Isolate(s1)
	for _, p := range []struct {
		from *Host
		to   string
	}{{c.Client, s1.Pub}, {s2, s1.Priv}, {s2, s1.Mgmt}, {s1, s2.Pub}} {
		if ping(p.from, p.to) {
			t.Errorf("%s reaches %s through the cut", p.from.Short, p.to)
		}
	}
	if !ping(c.Client, s2.Pub) {
		t.Errorf("the client no longer reaches %s, which is not cut", s2.Pub)
	}
	c.Heal([]*Host{s1}, []*Host{c.Client})
	if !WaitFor(5*time.Second, func() bool { return ping(c.Client, s1.Pub) }) {
		t.Errorf("the client does not reach %s after healing", s1.Pub)
	}
	if ping(s2, s1.Priv) {
		t.Errorf("healing s1 and the client healed s1 and s2 too")
	}
}

// CutLinks pulls a server's heartbeat cables at the switch: it sees no
// carrier there while the others on the bridges keep theirs, and its
// management leg stays up.
func TestCutLinksPullsHeartbeatCablesOnly(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Standbys: 1, Management: true})
	carrier := func(h *Host, s Segment) bool {
		out, _ := h.Run("cat", "/sys/class/net/"+h.Dev(s)+"/carrier")
		return strings.TrimSpace(out) == "1"
	}
	s1, s2 := c.Primary, c.Standbys[0]
	c.CutLinks(s1)
	for _, s := range []Segment{Public, Private} {
		if !WaitFor(2*time.Second, func() bool { return !carrier(s1, s) }) {
			t.Errorf("s1 still has carrier on %s", s)
		}
		if !carrier(s2, s) {
			t.Errorf("s2 lost carrier on %s", s)
		}
	}
	if !carrier(s1, Management) {
		t.Errorf("s1 lost carrier on mgmt: CutLinks should leave it")
	}
	c.RestoreLinks(s1)
	if !WaitFor(2*time.Second, func() bool { return carrier(s1, Public) && carrier(s1, Private) }) {
		t.Errorf("s1 has no carrier after RestoreLinks")
	}
}

// The cluster lab comes up with three etcd members healthy, on the
// management segment: a key written from one server is read from another.
func TestClusterEtcdComesUpHealthy(t *testing.T) {
	start := time.Now()
	c := NewCluster(t, ClusterOptions{Standbys: 2, Etcd: true})
	t.Logf("lab and etcd up in %v", time.Since(start).Round(time.Millisecond))
	if got := len(c.Etcd.Endpoints()); got != EtcdMembers {
		t.Fatalf("%d endpoints, want %d", got, EtcdMembers)
	}
	for _, m := range c.Etcd.Members {
		if !m.Healthy(time.Second) {
			t.Errorf("etcd %s not healthy", m.Short)
		}
	}
	if out, err := c.Etcd.Ctl(c.Primary.NS, 2*time.Second, "put", "/lab/k", c.Etcd.Token); err != nil {
		t.Fatalf("put from s1: %v\n%s", err, out)
	}
	out, err := c.Etcd.Ctl(c.Servers[2].NS, 2*time.Second, "get", "--print-value-only", "/lab/k")
	if err != nil || strings.TrimSpace(out) != c.Etcd.Token {
		t.Fatalf("get from s3: %v %q, want %q", err, out, c.Etcd.Token)
	}
}

// A server cut, together with one etcd member, from the rest (the other
// servers, the client and the majority of etcd) cannot read through etcd
// within a deadline while another server can; the cut is exact (it still
// reaches the member on its side); healing restores it.
func TestCutFromMajorityFailsEtcdctl(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Standbys: 2, Etcd: true})
	s2, s3, e3 := c.Servers[1], c.Servers[2], c.Etcd.Members[2]
	minority := []*Host{s2, e3.Host}
	c.Cut(minority, c.Others(minority...))

	const timeout = 2 * time.Second
	get := func(h *Host) (time.Duration, error) {
		start := time.Now()
		_, err := c.Etcd.Ctl(h.NS, timeout, "get", "/lab/k")
		return time.Since(start), err
	}
	took, err := get(s2)
	if err == nil {
		t.Fatalf("a read from s2, cut from the majority, succeeded")
	}
	// The command's own deadline (connect, then the command) plus
	// etcdctl's start on a busy machine.
	if bound := 2*timeout + 3*time.Second; took > bound {
		t.Errorf("s2's read failed after %v, more than %v", took, bound)
	}
	t.Logf("s2's read failed after %v", took.Round(time.Millisecond))
	if !WaitFor(10*time.Second, func() bool { _, err := get(s3); return err == nil }) {
		t.Fatalf("s3, on the majority's side, cannot read")
	}
	if out, err := e3.Ctl(s2.NS, timeout, "endpoint", "status"); err != nil {
		t.Errorf("s2 no longer reaches e3, on its side of the cut: %v\n%s", err, out)
	}
	if out, err := c.Etcd.Members[0].Ctl(s2.NS, timeout, "endpoint", "status"); err == nil {
		t.Errorf("s2 reaches e1 through the cut:\n%s", out)
	}

	c.HealAll()
	if !WaitFor(10*time.Second, func() bool { _, err := get(s2); return err == nil }) {
		t.Fatalf("s2 cannot read 10 s after healing")
	}
}

// One member down, the leader at that, leaves a majority: the other two
// elect a leader and writes go on within a few election timeouts; it comes
// back healthy. All down, nothing is written; all up again, etcd serves
// what it had.
func TestEtcdMemberDownKeepsMajority(t *testing.T) {
	c := NewCluster(t, ClusterOptions{Standbys: 1, Etcd: true})
	var leader *Member
	if !WaitFor(5*time.Second, func() bool { leader = c.Etcd.Leader(); return leader != nil }) {
		t.Fatal("no member says it leads")
	}
	var rest []*Member
	for _, m := range c.Etcd.Members {
		if m != leader {
			rest = append(rest, m)
		}
	}
	put := func(v string) error {
		_, err := c.Etcd.Ctl(c.Primary.NS, time.Second, "put", "/lab/k", v)
		return err
	}
	stopped := time.Now()
	leader.Stop()
	if leader.Running() || leader.Healthy(time.Second) {
		t.Fatalf("%s runs or answers after Stop", leader.Short)
	}
	// Three election timeouts (1 s each) and etcdctl's start.
	if !WaitFor(5*time.Second, func() bool { return put("one down") == nil }) {
		t.Fatalf("no write within 5 s of %s, the leader, going down", leader.Short)
	}
	t.Logf("first write %v after %s, the leader, went down", time.Since(stopped).Round(time.Millisecond), leader.Short)
	if !c.Etcd.WaitHealthy(5*time.Second, rest...) {
		t.Fatalf("%s and %s not healthy with %s down", rest[0].Short, rest[1].Short, leader.Short)
	}
	leader.Start()
	if !c.Etcd.WaitHealthy(EtcdReady, leader) {
		t.Fatalf("%s not healthy again after Start:\n%s", leader.Short, leader.Output())
	}

	c.Etcd.StopAll()
	if err := put("all down"); err == nil {
		t.Fatal("a write with every member down succeeded")
	}
	c.Etcd.StartAll()
	out, err := c.Etcd.Ctl(c.Primary.NS, 2*time.Second, "get", "--print-value-only", "/lab/k")
	if err != nil || strings.TrimSpace(out) != "one down" {
		t.Fatalf("get after all came back: %v %q, want the value written with one down", err, out)
	}
}

// When the test ends, its namespaces, etcd processes and data are gone.
func TestClusterCleanupLeavesNothing(t *testing.T) {
	RequireEtcd(t)
	var names, dirs []string
	var pids []int
	t.Run("lab", func(t *testing.T) {
		c := NewCluster(t, ClusterOptions{Standbys: 1, Etcd: true})
		for _, h := range c.Hosts() {
			names = append(names, h.Name)
		}
		names = append(names, c.Switch.Name)
		for _, m := range c.Etcd.Members {
			pids = append(pids, m.d.Cmd.Process.Pid)
			dirs = append(dirs, m.DataDir)
		}
		c.Isolate(c.Primary)
	})
	if len(names) == 0 {
		t.Fatal("the lab was not built")
	}
	out, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range out {
		for _, n := range names {
			if e.Name() == n {
				t.Errorf("namespace %s still there", n)
			}
		}
	}
	for _, pid := range pids {
		if comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "etcd" {
			t.Errorf("etcd process %d still there", pid)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("data folder %s still there", d)
		}
	}
}
