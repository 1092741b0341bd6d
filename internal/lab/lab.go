// Package lab builds network-namespace test labs: namespaces the test
// creates itself, veth links between them, and commands run inside. Every
// namespace is deleted when the test ends, whether it passed or not.
//
// Only documentation addresses (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24) belong in a lab, and no lab is ever joined to the
// host's own network.
package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Require skips t unless it runs as root with iproute2: labs need
// CAP_SYS_ADMIN for namespaces and CAP_NET_ADMIN for links.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create network namespaces and veth links (make test runs it as root in CI)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs the ip command from iproute2 to build the network-namespace lab")
	}
}

// live is every namespace this process made and has not removed yet, so
// that an interrupted run (Ctrl-C, a CI timeout's SIGTERM) still removes
// them: t.Cleanup does not run when the process is killed by a signal.
var live = &registry{names: map[string]bool{}, procs: map[*os.Process]bool{}}

type registry struct {
	mu    sync.Mutex
	names map[string]bool
	procs map[*os.Process]bool
	once  sync.Once
}

func (r *registry) add(name string) {
	r.once.Do(func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			s := <-sig
			r.mu.Lock()
			for p := range r.procs {
				_ = p.Kill()
			}
			for n := range r.names {
				_ = exec.Command("ip", "netns", "del", n).Run()
			}
			r.mu.Unlock()
			fmt.Fprintf(os.Stderr, "lab: %v: removed this run's network namespaces\n", s)
			os.Exit(2)
		}()
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names[name] = true
}

func (r *registry) remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.names, name)
}

func (r *registry) process(p *os.Process, running bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if running {
		r.procs[p] = true
	} else {
		delete(r.procs, p)
	}
}

// Lab is one test's set of namespaces.
type Lab struct {
	t     testing.TB
	id    string
	veths int // veth pairs made
}

// New returns a lab whose names carry a random id, so parallel tests and
// leftovers of a killed run never collide.
func New(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return &Lab{t: t, id: hex.EncodeToString(b)}
}

// NS is one network namespace of a lab.
type NS struct {
	t    testing.TB
	Name string // the name ip netns knows it by
}

// Netns creates a namespace with its loopback up; it is deleted at the
// end of the test.
func (l *Lab) Netns(short string) *NS {
	l.t.Helper()
	ns := &NS{t: l.t, Name: fmt.Sprintf("ipfo-%s-%s", l.id, short)}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		l.t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	live.add(ns.Name)
	l.t.Cleanup(func() {
		live.remove(ns.Name)
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

// Veth joins a and b with a veth pair named aName in a and bName in b,
// both brought up. The two ends get interface indexes of their own
// (1000 and up, unique in the lab): two ends with the same index in
// their namespaces would have the kernel take their carrier changes for
// a physical device's, which it reports at most once a second for the
// whole machine, so that another lab's links could delay this one's.
func (l *Lab) Veth(a *NS, aName string, b *NS, bName string) {
	l.t.Helper()
	l.veths++
	ia, ib := strconv.Itoa(1000+2*l.veths), strconv.Itoa(1001+2*l.veths)
	if out, err := exec.Command("ip", "link", "add", aName, "index", ia, "netns", a.Name, "type", "veth",
		"peer", "name", bName, "index", ib, "netns", b.Name).CombinedOutput(); err != nil {
		l.t.Fatalf("veth %s/%s: %v: %s", aName, bName, err, out)
	}
	a.MustRun("ip", "link", "set", aName, "up")
	b.MustRun("ip", "link", "set", bName, "up")
}

// Bridge creates the bridge name in sw, up: a switch for a segment.
func (l *Lab) Bridge(sw *NS, name string) {
	l.t.Helper()
	sw.MustRun("ip", "link", "add", "name", name, "type", "bridge")
	sw.MustRun("ip", "link", "set", "dev", name, "up")
}

// Plug joins ns to the bridge br in sw, as a cable into a switch: a veth
// named dev in ns and port in sw, the port enslaved to br.
func (l *Lab) Plug(ns *NS, dev string, sw *NS, port, br string) {
	l.t.Helper()
	l.Veth(ns, dev, sw, port)
	sw.MustRun("ip", "link", "set", "dev", port, "master", br)
}

// Addr adds prefix (with its broadcast address) to dev.
func (ns *NS) Addr(dev, prefix string) {
	ns.t.Helper()
	ns.MustRun("ip", "addr", "add", prefix, "brd", "+", "dev", dev)
}

// Sysctl sets a kernel parameter of the namespace, such as
// net.ipv4.neigh.pub0.locktime, by writing its /proc/sys file from inside
// (so no sysctl command is needed).
func (ns *NS) Sysctl(key, value string) {
	ns.t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) }); err != nil {
		ns.t.Fatalf("in %s: %s=%s: %v", ns.Name, key, value, err)
	}
}

// Command returns a command that runs inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return ns.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command killed when ctx is done.
func (ns *NS) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command inside the namespace and returns its combined output.
func (ns *NS) Run(name string, args ...string) (string, error) {
	out, err := ns.Command(name, args...).CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (ns *NS) MustRun(name string, args ...string) string {
	ns.t.Helper()
	out, err := ns.Run(name, args...)
	if err != nil {
		ns.t.Fatalf("in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return out
}

// Daemon is a long-running process in a namespace, with its output kept.
type Daemon struct {
	Cmd    *exec.Cmd
	output *SyncBuffer
	done   chan struct{}
}

// Start starts a long-running command inside the namespace. It is killed
// at the end of the test if still running.
func (ns *NS) Start(name string, args ...string) *Daemon {
	ns.t.Helper()
	d := &Daemon{Cmd: ns.Command(name, args...), output: &SyncBuffer{}, done: make(chan struct{})}
	d.Cmd.Stdout, d.Cmd.Stderr = d.output, d.output
	if err := d.Cmd.Start(); err != nil {
		ns.t.Fatalf("start %s in %s: %v", name, ns.Name, err)
	}
	live.process(d.Cmd.Process, true)
	go func() { _ = d.Cmd.Wait(); live.process(d.Cmd.Process, false); close(d.done) }()
	ns.t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.Cmd.Process.Kill()
			<-d.done
		}
		if ns.t.Failed() {
			ns.t.Logf("output of %s:\n%s", name, d.Output())
		}
	})
	return d
}

// Output is what the daemon printed so far.
func (d *Daemon) Output() string { return d.output.String() }

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig os.Signal) error { return d.Cmd.Process.Signal(sig) }

// Wait waits up to timeout for the daemon to exit and returns its exit
// code, or -1 when it is still running.
func (d *Daemon) Wait(timeout time.Duration) int {
	select {
	case <-d.done:
		return d.Cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// SyncBuffer is a buffer that a process may write while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *SyncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// WaitFor polls cond every 20 ms until it holds or d has passed, and
// returns its last answer.
func WaitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// Stays polls cond every 20 ms for d and reports whether it held each
// time: how a test says "nothing happens" for a while. A busy machine only
// makes it poll less often, never fail sooner.
func Stays(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if !cond() {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// Build compiles the main package pkg (an import path) into dir and
// returns the binary's path.
func Build(t testing.TB, dir, pkg string) string {
	t.Helper()
	out := dir + "/" + pkg[strings.LastIndex(pkg, "/")+1:]
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
