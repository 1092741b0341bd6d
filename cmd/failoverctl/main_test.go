package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	k, err := wire.LoadKeyFile(path)
	if err != nil || len(k.Secret) < 32 {
		t.Fatalf("daemons would not accept the key: %v", err)
	}
	if !strings.Contains(out.String(), "key id") {
		t.Errorf("output %q", out.String())
	}
	// A second keygen must not replace the key silently.
	errb.Reset()
	if code := run([]string{"keygen", path}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "exists") {
		t.Fatalf("overwrote an existing key: %d %s", code, errb.String())
	}
	k2, _ := wire.LoadKeyFile(path)
	if k2.ID != k.ID {
		t.Fatal("key changed")
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 64 || !strings.Contains(errb.String(), "usage") {
		t.Errorf("exit %d %q", code, errb.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != cli.ExitUsage {
		t.Errorf("exit %d", code)
	}
	for _, a := range []string{"-h", "--help", "help"} {
		out.Reset()
		if code := run([]string{a}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: failoverctl") {
			t.Errorf("%s: exit %d %q", a, code, out.String())
		}
	}
	for _, a := range []string{"-v", "--version", "version"} {
		out.Reset()
		if code := run([]string{a}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "failoverctl ") {
			t.Errorf("%s: exit %d %q", a, code, out.String())
		}
	}
}

func TestKeygenIntoAMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ipfailover")
	path := filepath.Join(dir, "key")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", path}, &out, &errb); code == 0 {
		t.Fatalf("keygen into a missing folder succeeded: %q", out.String())
	}
	if msg := errb.String(); !strings.Contains(msg, "folder "+dir+" does not exist") || !strings.Contains(msg, "mkdir -m 0755 "+dir) {
		t.Errorf("the message should name the missing folder and how to make it: %q", msg)
	}
}

// After a kill -9, failoverd's socket file stays and connecting to it is
// refused: the message should say what that means.
func TestLeftoverSocketSaysIsFailoverdRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "failoverd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"--control-socket", sock, "--timeout", "5s", "status"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %q", code, errb.String())
	}
	if msg := errb.String(); !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "is failoverd running?") {
		t.Errorf("a leftover socket should get the hint: %q", msg)
	}
}

// failoverctl(8) documents --timeout and help; the usage must too.
func TestUsageListsTimeoutAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--timeout D", "--control-socket PATH", "version | help", "default 10m0s", "--json", "--force"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// keygen walks the path as the daemons walk a key file (root's or this
// user's, nothing on the way that group or others may write to): where
// they would refuse the key, none is written, and the message says the fix.
func TestKeygenRefusesWhereTheDaemonsWould(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	keygen := func(want ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run([]string{"keygen", path}, &out, &errb)
		if code == 0 {
			t.Errorf("keygen succeeded: %q", out.String())
		}
		for _, w := range want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("stderr lacks %q: %q", w, errb.String())
			}
		}
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("refused, yet a key was written (%v)", err)
			os.Remove(path)
		}
	}
	if err := os.Chmod(dir, 0o775); err != nil {
		t.Fatal(err)
	}
	keygen("refusing "+dir+" (on the path to "+path+"): writable by group", "fix: chmod go-w "+dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped the rest: only root can give a folder to another user")
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	keygen("refusing "+dir+" (on the path to "+path+"): owned by uid 65534, not root", "fix: chown root "+dir)
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", path}, &out, &errb); code != 0 {
		t.Fatalf("keygen in a safe folder: exit %d: %s", code, errb.String())
	}
}

// The status text says when failoverd asks who answers, and how often.
func TestStatusTextSaysTheAskingPace(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	writeStatus(&b, &control.Status{Node: "server2", State: "conflict", Since: now, AskEvery: 10 * time.Millisecond}, now)
	if !strings.Contains(b.String(), "asking who answers for the addresses every 10ms") {
		t.Fatalf("status text:\n%s", b.String())
	}
	b.Reset()
	writeStatus(&b, &control.Status{Node: "server2", State: "standby", Since: now}, now)
	if strings.Contains(b.String(), "asking") {
		t.Fatalf("status text says it asks while it does not:\n%s", b.String())
	}
}

// A link whose interface does not exist says so, and since when.
func TestStatusTextSaysAnInterfaceIsMissing(t *testing.T) {
	now := time.Now()
	since := now.Add(-42 * time.Second)
	var b strings.Builder
	writeStatus(&b, &control.Status{Node: "server2", State: "asking", Since: now, Links: []control.Link{
		{Link: notice.Link{Name: "eth1", Alive: true, LastHeard: now}},
		{Link: notice.Link{Name: "eht0"}, Missing: true, MissingSince: since},
	}}, now)
	text := b.String()
	for _, want := range []string{"eht0  silent, NO SUCH INTERFACE", "interface eht0 does not exist (missing since " + since.Local().Format("2006-01-02 15:04:05") + ", 42s ago)"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text without %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "eth1  alive, NO SUCH") || strings.Count(text, "does not exist") != 1 {
		t.Errorf("status text says a present interface is missing:\n%s", text)
	}
}

// failoverctl's flags get the same "did you mean" as the daemons'.
func TestUnknownFlagSaysWhichWasMeant(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--contol-socket", "/run/x.sock", "status"}, &out, &errb); code != cli.ExitUsage {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(errb.String(), "failoverctl: unknown flag: --contol-socket; did you mean --control-socket?\n") {
		t.Fatalf("stderr %q", errb.String())
	}
}

// A link the primary said goodbye on shows its last heartbeat and the
// goodbye after it.
func TestStatusTextShowsTheLastHeartbeatAndTheGoodbye(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	writeStatus(&b, &control.Status{Node: "server2", State: "active", Since: now, Links: []control.Link{
		{Link: notice.Link{Name: "priv0", LastHeard: now.Add(-1050 * time.Millisecond), Goodbye: now.Add(-time.Second)}, Received: 63},
	}}, now)
	if !strings.Contains(b.String(), "priv0  silent  last heartbeat 1.05s ago, goodbye 1s ago  received 63") {
		t.Fatalf("status text:\n%s", b.String())
	}
}

// The status text says whether heartbeats are authenticated, and for a
// link whose latest packet from the primary was refused, why.
func TestStatusTextSaysWhetherHeartbeatsAreAuthenticated(t *testing.T) {
	now := time.Now()
	const says = "heard, but not authenticated: key id 0a0b0c0d here, 01020304 in the packets"
	var b strings.Builder
	writeStatus(&b, &control.Status{Node: "server2", State: "conflict", Since: now, Authentication: says + " (on priv0): give both servers the same key (FAILOVER_AUTH_KEY_FILE)",
		Links: []control.Link{{Link: notice.Link{Name: "priv0", Refused: says, RefusedAt: now.Add(-80 * time.Millisecond)}, Dropped: map[wire.DropReason]uint64{wire.DropBadTag: 4}}}}, now)
	for _, want := range []string{"heartbeats: " + says + " (on priv0)", "priv0: " + says + ", the last 80ms ago"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status text does not say %q:\n%s", want, b.String())
		}
	}
}

// What the arbiter holds is written by whoever may write to etcd (with a
// plain member, any host or local user that reaches it): the names and
// roles status and events show from it cannot rewrite root's terminal.
func TestStatusTextShowsNoControlCharactersFromTheArbiter(t *testing.T) {
	now := time.Now()
	evil := "server9\x1b]0;owned\x07\x1b[2J"
	var b strings.Builder
	writeStatus(&b, &control.Status{Node: "server2", State: "standby", Since: now, Priority: 100,
		Yielding: &failover.Yielding{To: evil, Holds: true, Arbiter: true},
		Arbiter: &arbiter.Status{Reachable: true, Members: 3, Answering: 3,
			Holders: map[string]string{"198.51.100.1": evil, "198.51.100.2\x1b[1A": "server1"},
			Nodes:   map[string]string{evil: "primary\x1b[0m"}}}, now)
	var e strings.Builder
	writeEvents(&e, []history.Entry{{At: now, Kind: history.KindYield, Detail: failover.Yielding{To: evil, Holds: true, Arbiter: true}.Words()}}, time.UTC)
	for _, out := range []string{b.String(), e.String()} {
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Fatalf("control characters reach the terminal:\n%q", out)
		}
		if !strings.Contains(out, `server9\x1b]0;owned\a`) {
			t.Fatalf("the name is not shown, made visible:\n%q", out)
		}
	}
}
