package main

import (
	"encoding/json"
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

// hookScript appends "<stage> <name> <address> <interface> <peer>" to log.
const hookScript = `#!/bin/sh
echo "$FAILOVER_STAGE $(basename "$0") $FAILOVER_ADDRESS $FAILOVER_INTERFACE $FAILOVER_PEER_IP" >> %LOG%
`

// sendmailScript keeps each message it is given in its own file.
const sendmailScript = `#!/bin/sh
cat > %DIR%/mail.$$.$(date +%s%N)
`

type pairLab struct {
	t                *testing.T
	s1, s2           *lab.NS
	dir              string
	heartbeatd, ctl  string
	hookLog, mailDir string
	socket           string
	cfg              string
	failoverd        *lab.Daemon
	primary          *lab.Daemon
}

// newPairLab: server1 (primary) and server2 (secondary), each with a
// private and a public link; heartbeatd on server1, failoverd on server2
// with hooks, a sendmail stand-in and a control socket.
func newPairLab(t *testing.T) *pairLab {
	l := lab.New(t)
	p := &pairLab{t: t, s1: l.Netns("s1"), s2: l.Netns("s2"), dir: t.TempDir()}
	l.Veth(p.s1, "priv0", p.s2, "priv0")
	l.Veth(p.s1, "pub0", p.s2, "pub0")
	p.s1.Addr("priv0", "192.0.2.1/24")
	p.s1.Addr("pub0", "198.51.100.1/24")
	p.s2.Addr("priv0", "192.0.2.2/24")
	p.s2.Addr("pub0", "198.51.100.2/24")

	p.heartbeatd = lab.Build(t, p.dir, "github.com/ipfailover/ipfailover/cmd/heartbeatd")
	p.ctl = lab.Build(t, p.dir, "github.com/ipfailover/ipfailover/cmd/failoverctl")
	p.hookLog = filepath.Join(p.dir, "hooks.log")
	p.mailDir = filepath.Join(p.dir, "mail")
	p.socket = filepath.Join(p.dir, "failoverd.sock")
	must(t, os.Mkdir(p.mailDir, 0o755))
	hookDir := filepath.Join(p.dir, "hooks")
	addrDir := filepath.Join(hookDir, "198.51.100.1")
	must(t, os.MkdirAll(addrDir, 0o755))
	must(t, os.Chmod(hookDir, 0o755))
	for _, name := range []string{"Test", "PreAcq20.second", "PreAcq10.first", "PostAcq10.start", "PreRel10.stop", "PostRel10.done"} {
		writeExec(t, filepath.Join(addrDir, name), strings.ReplaceAll(hookScript, "%LOG%", p.hookLog))
	}
	sendmail := filepath.Join(p.dir, "sendmail")
	writeExec(t, sendmail, strings.ReplaceAll(sendmailScript, "%DIR%", p.mailDir))

	conf := strings.Join([]string{
		`FAILOVER_PEER_IP="192.0.2.1"`,
		`FAILOVER_PEER_IP_PAIRS="pub0:198.51.100.1"`,
		`FAILOVER_EMAIL_RECIPIENT="admin@example.com"`,
		"FAILOVER_INITIAL_GRACE=2s",
		"FAILOVER_GIVEBACK_HOLDDOWN=1s",
		"FAILOVER_HOOK_DIR=" + hookDir,
		"FAILOVER_SENDMAIL=" + sendmail,
		"FAILOVER_CONTROL_SOCKET=" + p.socket,
		"FAILOVER_RECONCILE_INTERVAL=1s",
	}, "\n") + "\n"
	p.cfg = filepath.Join(p.dir, "ipfailover")
	must(t, os.WriteFile(p.cfg, []byte(conf), 0o644))

	p.startPrimary()
	p.startFailoverd()
	return p
}

func (p *pairLab) startPrimary() {
	p.primary = p.s1.Start(p.heartbeatd, "--config", "/dev/null", "--interval", "100ms", "192.0.2.255", "198.51.100.255")
}

func (p *pairLab) startFailoverd() {
	exe, err := os.Executable()
	must(p.t, err)
	p.failoverd = p.s2.Start("env", "IPFO_RUN_FAILOVERD=1", exe, "-d", "--config", p.cfg)
}

func (p *pairLab) ctlRun(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.ctl, append([]string{"--control-socket", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("failoverctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeExec(t *testing.T, path, body string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(body), 0o755))
	must(t, os.Chmod(path, 0o755))
}

// status asks failoverd through failoverctl, as an administrator would.
func (p *pairLab) status() (control.Status, string) {
	p.t.Helper()
	out, err := exec.Command(p.ctl, "--control-socket", p.socket, "status", "--json").CombinedOutput()
	var st control.Status
	if err != nil || json.Unmarshal(out, &st) != nil {
		return st, string(out)
	}
	text, _ := exec.Command(p.ctl, "--control-socket", p.socket, "status").CombinedOutput()
	return st, string(text)
}

// waitState waits for failoverd to reach state and returns the status.
func (p *pairLab) waitState(state string, d time.Duration) (control.Status, string) {
	p.t.Helper()
	var st control.Status
	var text string
	if !lab.WaitFor(d, func() bool { st, text = p.status(); return string(st.State) == state }) {
		p.t.Fatalf("failoverd did not reach %s within %v; status:\n%s\nlog:\n%s", state, d, text, p.failoverd.Output())
	}
	return st, text
}

func (p *pairLab) mails() string {
	var all strings.Builder
	entries, _ := os.ReadDir(p.mailDir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(p.mailDir, e.Name()))
		all.Write(b)
		all.WriteString("\n----\n")
	}
	return all.String()
}

func (p *pairLab) hookRuns() []string {
	b, _ := os.ReadFile(p.hookLog)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (p *pairLab) holds(ns *lab.NS) bool {
	out, _ := ns.Run("ip", "-o", "addr", "show", "dev", "pub0")
	return strings.Contains(out, "inet 198.51.100.1/")
}

func linkAlive(st control.Status, name string) bool {
	for _, l := range st.Links {
		if l.Name == name {
			return l.Alive
		}
	}
	return false
}

// The administrator's test plan, watched through failoverctl status: both
// links alive; the private cable cut (anomaly, nothing taken); the public
// one too (takeover, hooks in order); both back (give-back).
func TestFailoverAndGiveBack(t *testing.T) {
	p := newPairLab(t)

	st, text := p.waitState("standby", 5*time.Second)
	if !lab.WaitFor(2*time.Second, func() bool { st, text = p.status(); return linkAlive(st, "priv0") && linkAlive(st, "pub0") }) {
		t.Fatalf("both links should be alive:\n%s", text)
	}
	if st.PeerInterval != 100*time.Millisecond || st.Timeout != 300*time.Millisecond || st.PeerEpoch == 0 {
		t.Errorf("peer interval %v, timeout %v, epoch %d", st.PeerInterval, st.Timeout, st.PeerEpoch)
	}
	t.Logf("standby:\n%s", text)

	// Private cable out: an anomaly, nothing taken.
	p.s1.MustRun("ip", "link", "set", "priv0", "down")
	st, text = p.waitState("degraded", 3*time.Second)
	if linkAlive(st, "priv0") || !linkAlive(st, "pub0") {
		t.Fatalf("priv0 should be silent, pub0 alive:\n%s", text)
	}
	if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(p.mails(), "network anomaly") }) {
		t.Fatalf("no anomaly mail; mails:\n%s", p.mails())
	}
	if p.holds(p.s2) {
		t.Fatal("one link silent, yet the address was taken")
	}

	// Public cable out too: takeover.
	cut := time.Now()
	p.s1.MustRun("ip", "link", "set", "pub0", "down")
	st, text = p.waitState("active", 5*time.Second)
	t.Logf("active %v after the second cable was cut:\n%s", time.Since(cut).Round(time.Millisecond), text)
	if !p.holds(p.s2) {
		t.Fatal("active, but server2 does not hold 198.51.100.1")
	}
	wantRuns := []string{
		"Test Test 198.51.100.1 pub0 192.0.2.1",
		"PreAcq PreAcq10.first 198.51.100.1 pub0 192.0.2.1",
		"PreAcq PreAcq20.second 198.51.100.1 pub0 192.0.2.1",
		"PostAcq PostAcq10.start 198.51.100.1 pub0 192.0.2.1",
	}
	if got := p.hookRuns(); strings.Join(got, "\n") != strings.Join(wantRuns, "\n") {
		t.Fatalf("hooks ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRuns, "\n"))
	}
	for _, want := range []string{"PreAcq", "PreAcq20.second exit 0", "PostAcq10.start exit 0", "held"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(p.mails(), "took over 198.51.100.1") }) {
		t.Fatalf("no takeover mail; mails:\n%s", p.mails())
	}

	// Cables back: give-back after the hold-down, and the primary told.
	must(t, os.Remove(p.hookLog))
	p.s1.MustRun("ip", "link", "set", "priv0", "up")
	p.s1.MustRun("ip", "link", "set", "pub0", "up")
	st, text = p.waitState("standby", 6*time.Second)
	if p.holds(p.s2) {
		t.Fatalf("gave back, yet server2 holds the address:\n%s", text)
	}
	wantRuns = []string{
		"Test Test 198.51.100.1 pub0 192.0.2.1",
		"PreRel PreRel10.stop 198.51.100.1 pub0 192.0.2.1",
		"PostRel PostRel10.done 198.51.100.1 pub0 192.0.2.1",
	}
	if got := p.hookRuns(); strings.Join(got, "\n") != strings.Join(wantRuns, "\n") {
		t.Fatalf("hooks ran:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRuns, "\n"))
	}
	if !lab.WaitFor(2*time.Second, func() bool { return strings.Contains(p.primary.Output(), "the secondary released the addresses") }) {
		t.Errorf("heartbeatd did not hear released:\n%s", p.primary.Output())
	}
	if !lab.WaitFor(3*time.Second, func() bool { return strings.Contains(p.mails(), "gave 198.51.100.1 back") }) {
		t.Errorf("no give-back mail; mails:\n%s", p.mails())
	}
	t.Logf("after give-back:\n%s", text)

	must(t, p.failoverd.Signal(syscall.SIGTERM))
	if code := p.failoverd.Wait(10 * time.Second); code != 0 {
		t.Fatalf("failoverd exit %d\n%s", code, p.failoverd.Output())
	}
	if _, err := os.Stat(p.socket); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
}

// failoverctl hold freezes; acquire and release act through the daemon;
// resume returns to the automatic rules. A clean stop while active gives
// the address back.
func TestOperatorCommandsAndCleanStop(t *testing.T) {
	p := newPairLab(t)
	p.waitState("standby", 5*time.Second)
	p.ctlRun("hold")
	p.waitState("held", time.Second)
	out := p.ctlRun("acquire")
	if !strings.Contains(out, "acquire: took the addresses over") {
		t.Fatalf("acquire said:\n%s", out)
	}
	st, text := p.waitState("held", 3*time.Second)
	if !lab.WaitFor(3*time.Second, func() bool { st, text = p.status(); return st.Holding && p.holds(p.s2) }) {
		t.Fatalf("acquire while held:\n%s", text)
	}
	// Held: the primary is alive, yet no give-back.
	time.Sleep(1500 * time.Millisecond)
	if !p.holds(p.s2) {
		t.Fatal("held, yet the address was given back")
	}
	p.ctlRun("release")
	if !lab.WaitFor(3*time.Second, func() bool { return !p.holds(p.s2) }) {
		t.Fatal("release did not give the address back")
	}
	p.ctlRun("resume")
	p.waitState("standby", 3*time.Second)

	// Held, so that the automatic give-back does not come first.
	p.ctlRun("hold")
	p.ctlRun("acquire")
	if st, text := p.status(); !st.Holding {
		t.Fatalf("not holding:\n%s", text)
	}
	must(t, os.Remove(p.hookLog))
	time.Sleep(1100 * time.Millisecond) // heartbeatd acts on one released a second
	must(t, p.failoverd.Signal(syscall.SIGTERM))
	if code := p.failoverd.Wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.failoverd.Output())
	}
	if p.holds(p.s2) {
		t.Fatal("a clean stop while active must give the address back")
	}
	if got := strings.Join(p.hookRuns(), "\n"); !strings.Contains(got, "PreRel PreRel10.stop") || !strings.Contains(got, "PostRel PostRel10.done") {
		t.Fatalf("hooks on a clean stop:\n%s", got)
	}
	if !lab.WaitFor(2*time.Second, func() bool { return strings.Count(p.primary.Output(), "the secondary released the addresses") == 2 }) {
		t.Fatalf("the clean stop did not tell the primary:\n%s", p.primary.Output())
	}
}

// failoverctl says what happened and fails when nothing could be done.
func TestOperatorMessages(t *testing.T) {
	p := newPairLab(t)
	p.waitState("standby", 5*time.Second)
	out, err := exec.Command(p.ctl, "--control-socket", p.socket, "release").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "holds no address; nothing to release") {
		t.Fatalf("release with nothing held: %v\n%s", err, out)
	}
	out, _ = exec.Command(p.ctl, "--control-socket", p.socket, "acquire").CombinedOutput()
	if !strings.Contains(string(out), "automatic give-back returns them after the hold-down") {
		t.Fatalf("acquire with the primary alive must warn:\n%s", out)
	}
	p.waitState("standby", 5*time.Second) // given back automatically
	// A Test that says no: acquire fails, and says why.
	addrDir := filepath.Join(p.dir, "hooks", "198.51.100.1")
	writeExec(t, filepath.Join(addrDir, "Test"), "#!/bin/sh\nexit 1\n")
	out, err = exec.Command(p.ctl, "--control-socket", p.socket, "acquire").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the Test hook said no") {
		t.Fatalf("vetoed acquire: %v\n%s", err, out)
	}
}
