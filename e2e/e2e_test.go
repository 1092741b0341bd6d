// Package e2e plays the failover test plan an administrator follows, with
// the real daemons in a network-namespace lab: heartbeatd on server1,
// failoverd with hooks on server2, a client on the public bridge asking a
// small service on the public address every 10 ms.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	svcPort  = 7
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
	dir       string
	hookDir   string
	conf      []string // failoverd's configuration lines
	primary   *lab.Daemon
	secondary *lab.Daemon
	probe     *lab.Probe
}

type option func(w *world)

// withHook adds a hook with the given body (default: the logging script).
func withHook(name, body string) option {
	return func(w *world) {
		if body == "" {
			body = strings.ReplaceAll(hookScript, "%DIR%", w.dir)
		}
		path := filepath.Join(w.hookDir, lab.Server1Pub, name)
		must(w.t, os.WriteFile(path, []byte(body), 0o755))
		must(w.t, os.Chmod(path, 0o755))
	}
}

func withConf(lines ...string) option {
	return func(w *world) { w.conf = append(w.conf, lines...) }
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
	must(t, os.Chmod(w.dir, 0o755))
	w.hookDir = filepath.Join(w.dir, "hooks")
	must(t, os.MkdirAll(filepath.Join(w.hookDir, lab.Server1Pub), 0o755))
	must(t, os.Mkdir(filepath.Join(w.dir, "mail"), 0o755))
	sendmail := filepath.Join(w.dir, "sendmail")
	must(t, os.WriteFile(sendmail, []byte("#!/bin/sh\ncat > "+w.dir+"/mail/$(date +%s%N)\n"), 0o755))
	w.conf = []string{
		`FAILOVER_PEER_IP="` + lab.Server1Priv + `"`,
		`FAILOVER_PEER_IP_PAIRS="pub0:` + lab.Server1Pub + `"`,
		`FAILOVER_EMAIL_RECIPIENT="admin@example.com"`,
		"FAILOVER_INITIAL_GRACE=1s",
		"FAILOVER_GIVEBACK_HOLDDOWN=1s",
		"FAILOVER_HOOK_DIR=" + w.hookDir,
		"FAILOVER_SENDMAIL=" + sendmail,
		"FAILOVER_CONTROL_SOCKET=" + filepath.Join(w.dir, "failoverd.sock"),
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

func (w *world) startPrimary(extra ...string) {
	args := append([]string{"--config", "/dev/null", "--interval", interval.String()}, extra...)
	w.primary = w.S1.Start(filepath.Join(bin, "heartbeatd"), append(args, lab.PrivBroadcast, lab.PubBroadcast)...)
}

func (w *world) startSecondary(extra ...string) {
	cfg := filepath.Join(w.dir, "ipfailover")
	must(w.t, os.WriteFile(cfg, []byte(strings.Join(w.conf, "\n")+"\n"), 0o644))
	w.secondary = w.S2.Start(filepath.Join(bin, "failoverd"), append([]string{"-d", "--config", cfg}, extra...)...)
}

func (w *world) status() control.Status {
	out, err := exec.Command(filepath.Join(bin, "failoverctl"), "--control-socket", filepath.Join(w.dir, "failoverd.sock"), "status", "--json").Output()
	var st control.Status
	if err == nil {
		_ = json.Unmarshal(out, &st)
	}
	return st
}

func (w *world) waitState(state string, d time.Duration) {
	w.t.Helper()
	if !lab.WaitFor(d, func() bool { return string(w.status().State) == state }) {
		w.t.Fatalf("failoverd not %s within %v (state %q)\nfailoverd:\n%s", state, d, w.status().State, w.secondary.Output())
	}
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
	if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(w.mails(), substr) }) {
		w.t.Fatalf("no mail saying %q; mails:\n%s", substr, w.mails())
	}
}

func (w *world) waitAnswerFrom(server string, d time.Duration) {
	w.t.Helper()
	if !lab.WaitFor(d, func() bool { return w.probe.Last() == server }) {
		w.t.Fatalf("the client is not answered by %s (last answer from %q)", server, w.probe.Last())
	}
}

func hookLine(stage, action, name string) string {
	return stage + " " + action + " " + name + " " + lab.Server1Pub + " pub0 " + lab.Server1Priv
}

// The plan: cut the private cable (anomaly only), then the public one
// (takeover), then restore both (give-back), with the client's outage
// measured each time.
func TestCablePlan(t *testing.T) {
	w := newWorld(t, withHook("Test", ""), withHook("PreAcq20.b", ""), withHook("PreAcq10.a", ""),
		withHook("PostAcq10.c", ""), withHook("PreRel10.d", ""), withHook("PostRel10.e", ""))
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.waitAnswerFrom("server1", 2*time.Second)

	// Private cable: an anomaly, nothing taken.
	w.CutPrivate()
	w.waitState("degraded", 2*time.Second)
	w.waitMail("network anomaly")
	time.Sleep(2 * timeout)
	if w.holds(w.S2) || w.status().State != "degraded" {
		t.Fatal("one link silent, yet something was taken")
	}

	// Public cable: takeover within the timeout plus a margin.
	cut := time.Now()
	w.CutPublic()
	w.waitState("active", 3*time.Second)
	w.waitAnswerFrom("server2", 2*time.Second)
	outage, _ := w.probe.LongestGap(cut, time.Now())
	t.Logf("takeover: the client got no answer for %v (timeout %v)", outage.Round(time.Millisecond), timeout)
	if outage > timeout+time.Second {
		t.Errorf("takeover outage %v, want under the timeout %v plus 1s", outage, timeout)
	}
	if mac := lab.Neighbour(w.Client, "eth0", lab.Server1Pub); mac != lab.MAC(t, w.S2, "pub0") {
		t.Errorf("client's neighbour entry for %s is %s, want server2's %s", lab.Server1Pub, mac, lab.MAC(t, w.S2, "pub0"))
	}
	want := []string{hookLine("Test", "acquire", "Test"), hookLine("PreAcq", "acquire", "PreAcq10.a"), hookLine("PreAcq", "acquire", "PreAcq20.b"), hookLine("PostAcq", "acquire", "PostAcq10.c")}
	if got := w.hookRuns(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hooks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	env, _ := os.ReadFile(filepath.Join(w.dir, "env.PreAcq10.a"))
	if got := strings.TrimSpace(string(env)); got != "FAILOVER_ACTION FAILOVER_ADDRESS FAILOVER_INTERFACE FAILOVER_PEER_IP FAILOVER_REASON FAILOVER_STAGE PATH PWD" {
		t.Errorf("hook environment: %s", got)
	}
	w.waitMail("took over " + lab.Server1Pub)

	// Cables back: give-back; the client reaches server1 at once.
	must(t, os.Remove(filepath.Join(w.dir, "hooks.log")))
	w.RestorePrivate()
	back := time.Now()
	w.RestorePublic()
	w.waitState("standby", 5*time.Second)
	released := time.Now()
	w.waitAnswerFrom("server1", time.Second)
	outage, _ = w.probe.LongestGap(back, time.Now())
	t.Logf("give-back: the client got no answer for %v; answered by server1 %v after the give-back", outage.Round(time.Millisecond),
		time.Since(released).Round(time.Millisecond))
	if outage > 500*time.Millisecond {
		t.Errorf("give-back outage %v: the released re-announce should move the client at once", outage)
	}
	if w.holds(w.S2) {
		t.Fatal("server2 still holds the address")
	}
	want = []string{hookLine("Test", "release", "Test"), hookLine("PreRel", "release", "PreRel10.d"), hookLine("PostRel", "release", "PostRel10.e")}
	if got := w.hookRuns(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hooks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	w.waitMail("gave " + lab.Server1Pub + " back")
}

// Test exiting 1: no takeover, and a notice says why.
func TestTestVeto(t *testing.T) {
	w := newWorld(t, withHook("Test", "#!/bin/sh\necho 'primary not confirmed off'\nexit 1\n"), withHook("PreAcq10.a", ""))
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.CutPrivate()
	w.CutPublic()
	w.waitState("vetoed", 3*time.Second)
	time.Sleep(time.Second)
	if w.holds(w.S2) || len(w.hookRuns()) != 0 {
		t.Fatalf("vetoed, yet taken (hooks %q)", w.hookRuns())
	}
	w.waitMail("vetoed")
	if !strings.Contains(w.mails(), "exit 1") {
		t.Errorf("the veto notice does not say what Test returned:\n%s", w.mails())
	}
	if !strings.Contains(w.secondary.Output(), "primary not confirmed off") {
		t.Errorf("Test's output is not in the log")
	}
}

// A clean stop of heartbeatd says goodbye: takeover at once, not after
// the timeout.
func TestGoodbye(t *testing.T) {
	w := newWorld(t)
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	stop := time.Now()
	must(t, w.primary.Signal(syscall.SIGTERM))
	w.waitState("active", 2*time.Second)
	t.Logf("active %v after heartbeatd's SIGTERM (timeout %v)", time.Since(stop).Round(time.Millisecond), timeout)
	if !strings.Contains(w.secondary.Output(), "the primary said goodbye") {
		t.Fatalf("not taken over for the goodbye:\n%s", w.secondary.Output())
	}
}

// kill -9 of failoverd while active, then a restart: the address stays,
// no hook runs again, the client sees no second outage.
func TestCrashWhileActive(t *testing.T) {
	w := newWorld(t, withHook("PostAcq10.c", ""))
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.CutPrivate()
	w.CutPublic()
	w.waitState("active", 3*time.Second)
	w.waitAnswerFrom("server2", 2*time.Second)
	runs := w.hookRuns()

	crash := time.Now()
	must(t, w.secondary.Cmd.Process.Kill())
	w.secondary.Wait(5 * time.Second)
	w.startSecondary()
	w.waitState("active", 3*time.Second)
	time.Sleep(time.Second)
	outage, _ := w.probe.LongestGap(crash, time.Now())
	t.Logf("crash and restart: the client's longest gap was %v", outage.Round(time.Millisecond))
	if outage > 100*time.Millisecond {
		t.Errorf("a second outage of %v", outage)
	}
	if got := w.hookRuns(); strings.Join(got, "\n") != strings.Join(runs, "\n") {
		t.Errorf("hooks ran again: %q", got)
	}
	if !w.holds(w.S2) {
		t.Error("the address is gone after the restart")
	}
}

// A wrong key on one side: its heartbeats are dropped and counted, so the
// secondary takes over; the right key: no takeover.
func TestAuthKeys(t *testing.T) {
	writeKey := func(dir, name, secret string) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(secret+"\n"), 0o600))
		return p
	}
	for _, right := range []bool{true, false} {
		t.Run(fmt.Sprintf("right=%v", right), func(t *testing.T) {
			dir := t.TempDir()
			good := writeKey(dir, "good", "the right secret, 32 bytes long..")
			bad := writeKey(dir, "bad", "the wrong secret, 32 bytes long..")
			w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+good))
			key := good
			if !right {
				key = bad
			}
			w.startPrimary("--auth-key-file", key)
			w.startSecondary()
			if right {
				w.waitState("standby", 5*time.Second)
				time.Sleep(2 * time.Second)
				st := w.status()
				if st.State != "standby" || w.holds(w.S2) {
					t.Fatalf("right key, yet %s", st.State)
				}
				return
			}
			w.waitState("active", 5*time.Second)
			st := w.status()
			for _, l := range st.Links {
				if l.Dropped["bad-tag"] == 0 || l.Received != 0 {
					t.Errorf("link %s: received %d, dropped %v", l.Name, l.Received, l.Dropped)
				}
			}
		})
	}
}

// 10 % of packets lost on both links for a minute, at a 100 ms interval:
// no takeover.
func TestLossDoesNotFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: runs for a minute")
	}
	w := newWorld(t)
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	lab.DropPercent(t, w.S2, "priv0", 10)
	lab.DropPercent(t, w.S2, "pub0", 10)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if st := w.status(); st.State != "standby" && st.State != "degraded" {
			t.Fatalf("with 10%% loss failoverd went %s:\n%s", st.State, w.secondary.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := w.status()
	var recv uint64
	for _, l := range st.Links {
		recv += l.Received
	}
	t.Logf("a minute at 10%% loss: %d heartbeats received on both links, no takeover", recv)
	if w.holds(w.S2) {
		t.Fatal("the address was taken")
	}
}

// A hook that hangs is killed at its timeout; the failover completes and
// the notice names the hook.
func TestHangingHook(t *testing.T) {
	w := newWorld(t, withHook("PreAcq10.hang", "#!/bin/sh\nsleep 600\n"), withHook("PostAcq10.c", ""), withConf("FAILOVER_HOOK_TIMEOUT=1s"))
	w.startPrimary()
	w.startSecondary()
	w.waitState("standby", 5*time.Second)
	w.CutPrivate()
	w.CutPublic()
	w.waitState("active", 6*time.Second)
	if !w.holds(w.S2) || len(w.hookRuns()) != 1 {
		t.Fatalf("after the hung hook: holds %v, hooks %q", w.holds(w.S2), w.hookRuns())
	}
	w.waitMail("PreAcq10.hang")
	if !strings.Contains(w.mails(), "timed out") {
		t.Errorf("the notice does not say the hook timed out:\n%s", w.mails())
	}
	if out, _ := w.S2.Run("pgrep", "-f", "sleep 600"); strings.TrimSpace(out) != "" {
		t.Errorf("the hung hook's process is still running: %s", out)
	}
}

// A crash in the middle of a takeover left one of two addresses on the
// secondary while the primary is alive: failoverd keeps what is there,
// never adds the other, and gives everything back once the primary is
// heard for the hold-down.
func TestPartialLeftoverWithPrimaryAlive(t *testing.T) {
	w := newWorld(t, withConf(`FAILOVER_PEER_IP_PAIRS="pub0:`+lab.Server1Pub+` pub0:198.51.100.10"`))
	w.S1.MustRun("ip", "addr", "add", "198.51.100.10/32", "dev", "pub0")
	w.S2.MustRun("ip", "addr", "add", "198.51.100.10/32", "dev", "pub0", "label", "pub0:ipfo", "preferred_lft", "0")
	w.startPrimary()
	w.startSecondary()
	w.waitState("active", 3*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if w.holds(w.S2) {
			t.Fatalf("failoverd added %s while the primary is alive:\n%s", lab.Server1Pub, w.secondary.Output())
		}
		if w.status().State == "standby" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.waitState("standby", time.Second)
	if out, _ := w.S2.Run("ip", "-o", "addr", "show", "dev", "pub0"); strings.Contains(out, "198.51.100.10/") {
		t.Fatalf("the leftover was not given back:\n%s", out)
	}
}
