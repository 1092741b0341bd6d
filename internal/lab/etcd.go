package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EtcdMembers is how many etcd members a cluster lab runs: a majority
// survives one of them down or cut off.
const EtcdMembers = 3

// EtcdReady bounds how long NewCluster and Etcd.StartAll wait for the
// members to be healthy: three members elect a leader in about a second
// (election timeout 1 s), a busy machine may take a few more.
const EtcdReady = 15 * time.Second

// RequireEtcd skips t unless it can run a cluster lab with etcd: root, ip,
// nft, and Debian's etcd-server (etcd) and etcd-client (etcdctl).
func RequireEtcd(t testing.TB) {
	t.Helper()
	requireNft(t)
	for _, bin := range []string{"etcd", "etcdctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("skipped: needs %s (apt-get install etcd-server etcd-client; .ci/run installs them)", bin)
		}
	}
}

// Etcd is a cluster lab's three etcd members, each in a namespace of its
// own on the management segment. Their data lives in the test's temporary
// folders; they are killed when the test ends.
type Etcd struct {
	Token   string // the cluster token, unique to the test
	Members []*Member
}

// Member is one etcd member.
type Member struct {
	*Host            // Short (e1, e2, e3) is its etcd name too
	ClientURL string // http://<EtcdAddr>:2379
	PeerURL   string // http://<EtcdAddr>:2380
	DataDir   string // under the test's t.TempDir()
	args      []string

	mu sync.Mutex
	d  *Daemon // the running process, nil while stopped
}

// startEtcd makes the members' namespaces and data folders, starts them
// and waits until they are healthy.
func (c *Cluster) startEtcd() *Etcd {
	c.t.Helper()
	e := &Etcd{Token: "ipfailover-lab-" + c.Lab.id}
	var initial []string
	for n := 1; n <= EtcdMembers; n++ {
		m := &Member{Host: c.host("e" + strconv.Itoa(n)),
			ClientURL: "http://" + EtcdAddr(n) + ":2379", PeerURL: "http://" + EtcdAddr(n) + ":2380"}
		c.plug(m.Host, Management, "mgmt0", EtcdAddr(n))
		initial = append(initial, m.Short+"="+m.PeerURL)
		e.Members = append(e.Members, m)
	}
	for _, m := range e.Members {
		m.DataDir = c.t.TempDir()
		if err := os.Chmod(m.DataDir, 0o700); err != nil { // as etcd asks of its data
			c.t.Fatal(err)
		}
		m.args = []string{"--name", m.Short, "--data-dir", m.DataDir,
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", e.Token,
			"--initial-cluster-state", "new", "--logger", "zap", "--log-outputs", "stderr",
			// As etcd runs from 3.5 on, and as failoverd(8) advises for
			// 3.4 (Debian's, whose default is off): a member cut off
			// campaigns in vain, and without pre-vote its higher term
			// unseats the leader when it comes back, an election
			// (0.8 to 3.1 s in the lab) in which no lease is renewed.
			"--pre-vote"}
	}
	e.StartAll()
	return e
}

// Endpoints are the members' client URLs.
func (e *Etcd) Endpoints() []string {
	var eps []string
	for _, m := range e.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Arbiter is the endpoints joined by commas, as FAILOVER_ARBITER and
// etcdctl's --endpoints take them.
func (e *Etcd) Arbiter() string { return strings.Join(e.Endpoints(), ",") }

// Start starts the member (again, on the data it had: a member down comes
// back up); it does not wait for it to be healthy.
func (m *Member) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d != nil {
		return
	}
	m.d = m.NS.Start("etcd", m.args...)
}

// Stop kills the member (SIGKILL, as a crash or a power cut would) and
// waits until it has exited.
func (m *Member) Stop() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d == nil {
		return
	}
	_ = m.d.Cmd.Process.Kill()
	select {
	case <-m.d.done:
	case <-time.After(10 * time.Second):
		m.t.Fatalf("etcd %s still runs 10 s after SIGKILL", m.Short)
	}
	m.d = nil
}

// Running reports whether the member's process runs.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d == nil {
		return false
	}
	select {
	case <-m.d.done:
		return false
	default:
		return true
	}
}

// Output is what the member's current process printed, "" while stopped.
func (m *Member) Output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d == nil {
		return ""
	}
	return m.d.Output()
}

// Healthy asks the member's /health over the management segment from its
// own namespace: true when it answers, within timeout, that it has a
// leader and a quorum read went through.
func (m *Member) Healthy(timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.ClientURL+"/health", nil)
	if err != nil {
		return false
	}
	client := &http.Client{Transport: &http.Transport{DialContext: m.NS.DialContext, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}

// Leader is the member that leads, as the members themselves say (each
// asked in its own namespace), or nil when none answers or they name none.
func (e *Etcd) Leader() *Member {
	for _, m := range e.Members {
		out, err := m.Ctl(m.NS, time.Second, "endpoint", "status", "-w", "json")
		if err != nil {
			continue
		}
		var st []struct {
			Status struct {
				Header struct {
					MemberID uint64 `json:"member_id"`
				} `json:"header"`
				Leader uint64 `json:"leader"`
			}
		}
		if json.Unmarshal([]byte(out), &st) == nil && len(st) == 1 && st[0].Status.Leader != 0 &&
			st[0].Status.Leader == st[0].Status.Header.MemberID {
			return m
		}
	}
	return nil
}

// StopAll kills every member.
func (e *Etcd) StopAll() {
	for _, m := range e.Members {
		m.Stop()
	}
}

// StartAll starts every member that is stopped and waits, up to
// EtcdReady, until all are healthy; it fails the test with their output
// if they are not.
func (e *Etcd) StartAll() {
	t := e.Members[0].t
	t.Helper()
	for _, m := range e.Members {
		m.Start()
	}
	if !WaitFor(EtcdReady, func() bool { return e.healthy(e.Members...) }) {
		var out strings.Builder
		for _, m := range e.Members {
			fmt.Fprintf(&out, "etcd %s (running: %v, healthy: %v):\n%s\n", m.Short, m.Running(), m.Healthy(time.Second), m.Output())
		}
		t.Fatalf("etcd not healthy within %v\n%s", EtcdReady, out.String())
	}
}

// WaitHealthy waits up to d until every member of ms is healthy and
// reports whether they became so.
func (e *Etcd) WaitHealthy(d time.Duration, ms ...*Member) bool {
	return WaitFor(d, func() bool { return e.healthy(ms...) })
}

func (e *Etcd) healthy(ms ...*Member) bool {
	for _, m := range ms {
		if !m.Healthy(time.Second) {
			return false
		}
	}
	return true
}

// Ctl runs etcdctl inside from with every member's endpoint, giving it
// timeout to connect and timeout for the command, and returns its
// output. Reads are linearizable (etcdctl's default): they succeed only
// through a member in touch with a majority.
func (e *Etcd) Ctl(from *NS, timeout time.Duration, args ...string) (string, error) {
	return etcdctl(from, e.Arbiter(), timeout, args...)
}

// Ctl is Etcd.Ctl with this member's endpoint alone.
func (m *Member) Ctl(from *NS, timeout time.Duration, args ...string) (string, error) {
	return etcdctl(from, m.ClientURL, timeout, args...)
}

func etcdctl(from *NS, endpoints string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*timeout+5*time.Second)
	defer cancel()
	d := timeout.String()
	cmd := from.CommandContext(ctx, "etcdctl", append([]string{"--endpoints", endpoints,
		"--dial-timeout", d, "--command-timeout", d}, args...)...)
	cmd.Env = append(cmd.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
