// Package etcdtest starts a real etcd cluster of three members on
// 127.0.0.1 for tests: ports chosen free at run time, data in the
// test's temporary folder, every process killed when the test ends. A
// test without etcd installed skips.
package etcdtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is three etcd members with a 50 ms heartbeat and a 500 ms
// election timeout (so the least lease TTL it grants is 1 s).
type Cluster struct {
	Endpoints []string // the members' client URLs, in member order
	Members   []*Member
}

// Member is one etcd process.
type Member struct {
	Name string
	bin  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// TLS serves the client URLs over TLS: the members present ServerCert
// and ask every client for a certificate signed by CA.
type TLS struct{ CA, ServerCert, ServerKey string }

// Options are Start's; the zero value is a plain-HTTP cluster.
type Options struct {
	TLS *TLS
	// Ready says the cluster serves, polled until it returns nil (30 s
	// at most); nil: every member's /health says so (plain HTTP only).
	Ready func(ctx context.Context, endpoints []string) error
}

// Binary is etcd's path; it skips t when etcd is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	t.Skip("etcd is not installed (/usr/bin/etcd, Debian's etcd-server): this test needs a real three-member cluster")
	return ""
}

// FreePorts finds n free TCP ports on 127.0.0.1, holding them all until
// every one is found so that none repeats.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Start starts the cluster and waits until it serves.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	bin := Binary(t)
	const n = 3
	ports := FreePorts(t, 2*n)
	dir := t.TempDir()
	token := fmt.Sprintf("etcdtest-%d-%d", os.Getpid(), ports[0])
	scheme, security := "http", []string(nil)
	if o.TLS != nil {
		scheme = "https"
		security = []string{"--cert-file", o.TLS.ServerCert, "--key-file", o.TLS.ServerKey,
			"--trusted-ca-file", o.TLS.CA, "--client-cert-auth"}
	}
	var initial []string
	c := &Cluster{}
	for i := range n {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[n+i]))
		c.Endpoints = append(c.Endpoints, fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[i]))
	}
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), bin: bin, log: filepath.Join(dir, fmt.Sprintf("m%d.log", i))}
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[n+i])
		m.args = []string{
			"--name", m.Name,
			"--data-dir", filepath.Join(dir, m.Name),
			"--listen-client-urls", c.Endpoints[i],
			"--advertise-client-urls", c.Endpoints[i],
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-token", token,
			"--initial-cluster-state", "new",
			"--heartbeat-interval", "50",
			"--election-timeout", "500",
			"--logger", "zap",
		}
		m.args = append(m.args, security...)
		if err := m.start(); err != nil {
			t.Fatalf("start etcd %s: %v", m.Name, err)
		}
		c.Members = append(c.Members, m)
		t.Cleanup(func() {
			m.Kill()
			if t.Failed() {
				m.logTail(t)
			}
		})
	}

	ready := o.Ready
	if ready == nil {
		ready = healthy
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ready(ctx, c.Endpoints)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the etcd cluster did not serve within 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthy says every member's /health reports it healthy.
func healthy(ctx context.Context, endpoints []string) error {
	for _, ep := range endpoints {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var h struct{ Health string }
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s/health: %w", ep, err)
		}
		if h.Health != "true" {
			return fmt.Errorf("%s/health: %q", ep, h.Health)
		}
	}
	return nil
}

// start runs the member's process, appending to its log.
func (m *Member) start() error {
	cmd := exec.Command(m.bin, m.args...)
	cmd.Env = []string{} // no ETCD_* from the environment
	cmd.SysProcAttr = dieWithParent()
	f, err := os.OpenFile(m.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		f.Close()
		close(done)
	}()
	m.cmd, m.done = cmd, done
	return nil
}

// Restart starts a killed member again, on its data: it rejoins the
// cluster with what it had written (leases and keys among it).
func (m *Member) Restart(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatalf("restart etcd %s: %v", m.Name, err)
	}
}

// Kill kills the member and waits until it has exited.
func (m *Member) Kill() {
	m.cmd.Process.Kill()
	<-m.done
}

// Pause stops the member (SIGSTOP): it keeps its port and answers
// nothing, as a hung host or a cut does.
func (m *Member) Pause() { m.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused member.
func (m *Member) Resume() { m.cmd.Process.Signal(syscall.SIGCONT) }

func (m *Member) logTail(t testing.TB) {
	b, _ := os.ReadFile(m.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("etcd %s, last lines of its log:\n%s", m.Name, strings.Join(lines[max(0, len(lines)-15):], "\n"))
}
