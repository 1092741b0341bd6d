// Package e2e plays the failover test plan an administrator follows, with
// the real daemons in a network-namespace lab: heartbeatd on server1,
// failoverd with hooks on server2, a client on the public bridge asking a
// small service on the public address every 10 ms, and failoverctl
// talking to failoverd as an operator would.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/lab"
)

// bin holds the daemons, built once for the whole suite.
var bin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Geteuid() != 0 {
			return m.Run() // every test skips with the lab's reason
		}
		dir, err := os.MkdirTemp("", "ipfailover-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/ipfailover/ipfailover/cmd/...").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			return 1
		}
		bin = dir
		return m.Run()
	}())
}

const (
	interval = 100 * time.Millisecond
	timeout  = 3 * interval // the default dead count
	holdDown = time.Second  // FAILOVER_GIVEBACK_HOLDDOWN in every world
	svcPort  = 7
	// slack is what a busy machine (two cores, other test runs beside
	// this one) may add to anything the daemons do: hooks to start,
	// failoverctl to answer, the probe's goroutine to run. A bound that
	// says "within X" allows X plus slack, and each test says why a
	// broken feature would still miss it.
	slack = 1500 * time.Millisecond
)

// hookScript logs "<stage> <action> <name> <address> <interface> <peer>" and the
// variable names of its environment.
const hookScript = `#!/bin/sh
echo "$FAILOVER_STAGE $FAILOVER_ACTION $(basename "$0") $FAILOVER_ADDRESS $FAILOVER_INTERFACE $FAILOVER_PEER_IP" >> %DIR%/hooks.log
env | cut -d= -f1 | sort | tr '\n' ' ' > %DIR%/env.$(basename "$0")
`

type world struct {
	t *testing.T
	*lab.Pair
	dir         string
	hookDir     string
	conf        []string // failoverd's configuration lines
	primaryConf []string // heartbeatd's
	primary     *lab.Daemon
	secondary   *lab.Daemon
	probe       *lab.Probe
}

type option func(w *world)

// withHook adds an executable hook with the given body (default: the
// logging script); %DIR% in it is the world's folder.
func withHook(name, body string) option { return withHookMode(name, body, 0o755) }

// withHookMode adds a hook file with the given mode.
func withHookMode(name, body string, mode os.FileMode) option {
	return func(w *world) {
		if body == "" {
			body = hookScript
		}
		path := filepath.Join(w.hookDir, lab.Server1Pub, name)
		must(w.t, os.WriteFile(path, []byte(strings.ReplaceAll(body, "%DIR%", w.dir)), mode))
		must(w.t, os.Chmod(path, mode))
	}
}

// withConf adds lines to failoverd's configuration file.
func withConf(lines ...string) option {
	return func(w *world) { w.conf = append(w.conf, lines...) }
}

// withPrimaryConf adds lines to heartbeatd's configuration file.
func withPrimaryConf(lines ...string) option {
	return func(w *world) { w.primaryConf = append(w.primaryConf, lines...) }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newWorld builds the lab, the hooks and failoverd's configuration, and
// starts the client's probe; the daemons start with start().
func newWorld(t *testing.T, opts ...option) *world {
	p := lab.NewPair(t)
	w := &world{t: t, Pair: p, dir: t.TempDir()}
	// Each world's heartbeatd its own: the worlds share one file system.
	w.primaryConf = []string{"FAILOVER_LOCK_SOCKET=" + filepath.Join(w.dir, "heartbeatd.sock")}
	must(t, os.Chmod(w.dir, 0o755))
	w.hookDir = filepath.Join(w.dir, "hooks")
	must(t, os.MkdirAll(filepath.Join(w.hookDir, lab.Server1Pub), 0o755))
	must(t, os.Mkdir(filepath.Join(w.dir, "mail"), 0o755))
	sendmail := filepath.Join(w.dir, "sendmail")
	must(t, os.WriteFile(sendmail, []byte("#!/bin/sh\ncat > "+w.dir+"/mail/$(date +%s%N).$$\n"), 0o755))
	w.conf = []string{
		`FAILOVER_PEER_IP="` + lab.Server1Priv + `"`,
		`FAILOVER_PEER_IP_PAIRS="pub0:` + lab.Server1Pub + `"`,
		`FAILOVER_EMAIL_RECIPIENT="admin@example.com"`,
		"FAILOVER_INITIAL_GRACE=1s",
		"FAILOVER_GIVEBACK_HOLDDOWN=" + holdDown.String(),
		"FAILOVER_HOOK_DIR=" + w.hookDir,
		"FAILOVER_SENDMAIL=" + sendmail,
		"FAILOVER_CONTROL_SOCKET=" + w.socket(),
		"FAILOVER_STATE_DIR=" + filepath.Join(w.dir, "state"),
		"FAILOVER_RECONCILE_INTERVAL=500ms",
	}
	for _, o := range opts {
		o(w)
	}
	lab.Serve(t, w.S1, svcPort, "server1")
	lab.Serve(t, w.S2, svcPort, "server2")
	w.probe = lab.StartProbe(t, w.Client, lab.Server1Pub, svcPort, 10*time.Millisecond)
	return w
}

func (w *world) socket() string { return filepath.Join(w.dir, "failoverd.sock") }

// startPrimary starts heartbeatd on server1 with debug logging, so the
// test can see what it did with each `released`.
func (w *world) startPrimary(extra ...string) {
	cfg := filepath.Join(w.dir, "heartbeatd.conf")
	must(w.t, os.WriteFile(cfg, []byte(strings.Join(w.primaryConf, "\n")+"\n"), 0o644))
	args := append([]string{"-d", "--config", cfg, "--interval", interval.String()}, extra...)
	w.primary = w.S1.Start(filepath.Join(bin, "heartbeatd"), append(args, lab.PrivBroadcast, lab.PubBroadcast)...)
}

func (w *world) startSecondary(extra ...string) {
	cfg := filepath.Join(w.dir, "ipfailover")
	must(w.t, os.WriteFile(cfg, []byte(strings.Join(w.conf, "\n")+"\n"), 0o644))
	w.secondary = w.S2.Start(filepath.Join(bin, "failoverd"), append([]string{"-d", "--config", cfg}, extra...)...)
}

// start starts both daemons (heartbeatd with primaryArgs) and waits for
// failoverd's standby with a heartbeat heard on every link.
func (w *world) start(primaryArgs ...string) {
	w.t.Helper()
	w.startPrimary(primaryArgs...)
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.waitHeardOnEveryLink(3 * time.Second)
}

// waitHeardOnEveryLink waits until failoverd has heard a heartbeat on
// each of its links. Standby needs one link only, and probes go where
// heartbeats came from: a link not heard from yet (the first heartbeat
// may go out before failoverd listens) cannot be probed, and a test of
// probing would see the timeout decide.
func (w *world) waitHeardOnEveryLink(limit time.Duration) {
	w.t.Helper()
	if !lab.WaitFor(limit, func() bool {
		st := w.status()
		for _, l := range st.Links {
			if l.LastHeard.IsZero() {
				return false
			}
		}
		return len(st.Links) > 0
	}) {
		w.t.Fatalf("failoverd has not heard a heartbeat on every link after %v:\n%s", limit, w.statusText())
	}
}

// cutBoth pulls both of server1's cables: to server2, the primary is gone.
func (w *world) cutBoth() {
	w.CutPrivate()
	w.CutPublic()
}

// ctl runs failoverctl against the world's failoverd.
func (w *world) ctl(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "failoverctl"), append([]string{"--control-socket", w.socket()}, args...)...).CombinedOutput()
	return string(out), err
}

// mustCtl is ctl that fails the test when failoverctl does.
func (w *world) mustCtl(args ...string) string {
	w.t.Helper()
	out, err := w.ctl(args...)
	if err != nil {
		w.t.Fatalf("failoverctl %v: %v\n%s", args, err, out)
	}
	return out
}

func (w *world) status() control.Status {
	var st control.Status
	if out, err := w.ctl("status", "--json"); err == nil {
		_ = json.Unmarshal([]byte(out), &st)
	}
	return st
}

// statusText is `failoverctl status` as a person reads it.
func (w *world) statusText() string {
	out, _ := w.ctl("status")
	return out
}

func (w *world) state() string { return string(w.status().State) }

func (w *world) waitState(state string, d time.Duration) {
	w.t.Helper()
	if !lab.WaitFor(d, func() bool { return w.state() == state }) {
		w.t.Fatalf("failoverd not %s within %v (state %q)\nfailoverd:\n%s", state, d, w.state(), w.secondary.Output())
	}
}

func (w *world) link(name string) control.Link {
	for _, l := range w.status().Links {
		if l.Name == name {
			return l
		}
	}
	return control.Link{}
}

func (w *world) holds(ns *lab.NS) bool {
	out, _ := ns.Run("ip", "-o", "addr", "show", "dev", "pub0")
	return strings.Contains(out, "inet "+lab.Server1Pub+"/32")
}

func (w *world) hookRuns() []string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "hooks.log"))
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// wantHookRuns fails the test unless exactly these hooks ran, in order.
func (w *world) wantHookRuns(want ...string) {
	w.t.Helper()
	if got := w.hookRuns(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		w.t.Fatalf("hooks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (w *world) mails() string {
	var all strings.Builder
	entries, _ := os.ReadDir(filepath.Join(w.dir, "mail"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(w.dir, "mail", e.Name()))
		all.Write(b)
		all.WriteString("\n----\n")
	}
	return all.String()
}

func (w *world) waitMail(substr string) {
	w.t.Helper()
	if !lab.WaitFor(3*time.Second+slack, func() bool { return strings.Contains(w.mails(), substr) }) {
		w.t.Fatalf("no mail saying %q; mails:\n%s", substr, w.mails())
	}
}

func (w *world) waitAnswerFrom(server string, d time.Duration) {
	w.t.Helper()
	if !lab.WaitFor(d, func() bool { return w.probe.Last() == server }) {
		w.t.Fatalf("the client is not answered by %s (last answer from %q)", server, w.probe.Last())
	}
}

// clientSees is the MAC address the client's kernel holds for the
// public address.
func (w *world) clientSees() string { return lab.Neighbour(w.Client, "eth0", lab.Server1Pub) }

func hookLine(stage, action, name string) string {
	return stage + " " + action + " " + name + " " + lab.Server1Pub + " pub0 " + lab.Server1Priv
}
