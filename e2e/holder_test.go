package e2e

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Another host answering for heartbeatd's service address: heartbeatd
// asks again after its add, and says who answers and that it is not known
// to be the secondary, in its log and in a conflict notice of its own
// (FAILOVER_NOTIFY_COMMAND, here a script that appends each notice to a
// file). No failoverd runs: nothing here is the secondary.

// patience is how long heartbeatd waits before it notices a host that
// answers for an address it wants: FAILOVER_GIVEBACK_HOLDDOWN (1 s in
// these worlds) and 10 s for the secondary's release hooks.
const patience = holdDown + 10*time.Second

// noticeConf has heartbeatd pass its notices to a script appending them
// to dir/name, and tells it the hold-down; it returns the file's path.
func noticeConf(t *testing.T, dir, name string) (lines []string, file string) {
	file = filepath.Join(dir, name)
	script := filepath.Join(dir, "notify-"+name)
	must(t, os.WriteFile(script, []byte("#!/bin/sh\ncat >> "+file+"\n"), 0o755))
	return []string{"FAILOVER_SENDMAIL=", "FAILOVER_NOTIFY_COMMAND=" + script, "FAILOVER_GIVEBACK_HOLDDOWN=" + holdDown.String()}, file
}

func readNotices(file string) string {
	b, _ := os.ReadFile(file)
	return string(b)
}

// conflictNoticed says file holds a conflict notice about the service
// address that says what (a MAC, or words).
func conflictNoticed(file, what string) bool {
	for _, l := range strings.Split(readNotices(file), "\n") {
		if strings.Contains(l, `"kind":"conflict"`) && strings.Contains(l, "pub0:"+lab.Server1Pub+"/") && strings.Contains(l, what) {
			return true
		}
	}
	return false
}

// A third host with the same FAILOVER_SERVICE_IPS, its heartbeatd
// started right after server1's (a few milliseconds apart, as the lab
// starts processes): both ask, and both may find the address free and
// add it (the second waits when the first's announcement comes before
// its decision). Each that holds it while the other does
// too hears the other after its add and notices it (keeping it: nothing
// vouches that the other is the secondary); one that waits notices the
// holder after its patience. Before, both added it in 4 of 5 runs and
// nobody said a word.
func TestTwoHeartbeatdClaimOneServiceAddress(t *testing.T) {
	w := serviceWorld(t)
	lines, s1File := noticeConf(t, w.dir, "notices.s1")
	w.primaryConf = append(w.primaryConf, lines...)

	s3 := w.Lab.Netns("s3")
	w.Lab.Veth(s3, "pub0", w.Switch, "s3")
	w.Switch.MustRun("ip", "link", "set", "s3", "master", "br0")
	s3.Addr("pub0", "198.51.100.3"+lab.PubNet)
	lines3, s3File := noticeConf(t, w.dir, "notices.s3")
	cfg3 := filepath.Join(w.dir, "heartbeatd3.conf")
	must(t, os.WriteFile(cfg3, []byte(strings.Join(append([]string{`FAILOVER_SERVICE_IPS="pub0:` + lab.Server1Pub + `"`,
		"FAILOVER_LOCK_SOCKET=" + filepath.Join(w.dir, "heartbeatd3.sock")}, lines3...), "\n")+"\n"), 0o644))
	mac1, mac3 := lab.MAC(t, w.S1, "pub0"), lab.MAC(t, s3, "pub0")

	start := time.Now()
	w.startPrimary()
	third := s3.Start(filepath.Join(bin, "heartbeatd"), "-d", "--config", cfg3, "--interval", interval.String(), lab.PubBroadcast)

	if !lab.WaitFor(patience+slack, func() bool { return conflictNoticed(s1File, mac3) || conflictNoticed(s3File, mac1) }) {
		t.Fatalf("no conflict notice within %v (server1 holds it: %v, server3: %v)\nserver1's notices:\n%s\nserver3's:\n%s\nserver1's heartbeatd:\n%s\nserver3's:\n%s",
			patience+slack, hasAddr(w.S1), hasAddr(s3), readNotices(s1File), readNotices(s3File), w.primary.Output(), third.Output())
	}
	t.Logf("first conflict notice %v after the start (server1 holds the address: %v, server3: %v)",
		time.Since(start).Round(time.Millisecond), hasAddr(w.S1), hasAddr(s3))
	// Held by both: both say so, within their questions after the add.
	if hasAddr(w.S1) && hasAddr(s3) {
		if !lab.WaitFor(slack, func() bool { return conflictNoticed(s1File, mac3) && conflictNoticed(s3File, mac1) }) {
			t.Fatalf("both hold the address, and not both noticed the other\nserver1's notices:\n%s\nserver3's:\n%s", readNotices(s1File), readNotices(s3File))
		}
		for _, out := range []string{w.primary.Output(), third.Output()} {
			if !strings.Contains(out, "conflict: another host answers for a service address this host holds") {
				t.Errorf("no conflict logged:\n%s", out)
			}
		}
	}
}

// A client holds the service address before heartbeatd starts (an
// attacker, or a host misconfigured by hand): heartbeatd does not add it,
// logs a conflict naming the client's MAC and saying it is not known to
// be the secondary (not "waiting for the secondary's released", which it
// said every 2 s before), and sends a conflict notice after its
// patience.
func TestServiceAddressHeldBeforeStartIsAConflict(t *testing.T) {
	w := serviceWorld(t)
	lines, file := noticeConf(t, w.dir, "notices.s1")
	w.primaryConf = append(w.primaryConf, lines...)
	w.Client.MustRun("ip", "addr", "add", lab.Server1Pub+"/32", "dev", "eth0")
	mac := lab.MAC(t, w.Client, "eth0")

	start := time.Now()
	w.startPrimary()
	said := "conflict: another host answers for a service address; it is not known to be the secondary"
	if !lab.WaitFor(2*time.Second+slack, func() bool {
		out := w.primary.Output()
		return strings.Contains(out, said) && strings.Contains(out, "mac="+mac)
	}) {
		t.Fatalf("heartbeatd did not say the client (%s) answers and is not known to be the secondary:\n%s", mac, w.primary.Output())
	}
	if !lab.WaitFor(patience+slack, func() bool { return conflictNoticed(file, mac) }) {
		t.Fatalf("no conflict notice naming %s within %v:\n%s\nheartbeatd:\n%s", mac, patience+slack, readNotices(file), w.primary.Output())
	}
	t.Logf("conflict notice %v after the start", time.Since(start).Round(time.Millisecond))
	if n := readNotices(file); !strings.Contains(n, "not known to be the secondary") {
		t.Errorf("the notice does not say the holder is not known to be the secondary:\n%s", n)
	}
	if hasAddr(w.S1) {
		t.Error("heartbeatd added an address another host answers for")
	}
	if out := w.primary.Output(); strings.Contains(out, "waiting for the secondary") {
		t.Errorf("heartbeatd calls the client the secondary:\n%s", out)
	}
}

// The secondary holds the service address and hears heartbeatd (both
// cables cut, failoverd took over, the cables came back; with automatic
// give-back off failoverd keeps it): it says so in a signed holding, and
// heartbeatd removes the address at once, so that one host answers, and
// takes it back on the next released. Before, heartbeatd removed it only
// for a MAC it had taken for the secondary's from ARP around a released,
// which anyone can send.
func TestHeartbeatdRemovesWhatTheSecondarySaysItHolds(t *testing.T) {
	w := serviceWorld(t)
	w.conf = append(w.conf, "FAILOVER_AUTO_GIVEBACK=-NO-")
	lines, file := noticeConf(t, w.dir, "notices.s1")
	w.primaryConf = append(w.primaryConf, lines...)
	w.startService()
	w.waitHeardOnEveryLink(2 * time.Second)

	w.cutBoth()
	w.waitState("active", timeout+slack)
	aw := w.watch()
	back := time.Now()
	w.RestorePrivate()
	w.RestorePublic()
	if !lab.WaitFor(slack, func() bool { return !hasAddr(w.S1) }) {
		t.Fatalf("heartbeatd kept an address the secondary says it holds:\nheartbeatd:\n%s\nfailoverd:\n%s", w.primary.Output(), w.secondary.Output())
	}
	took := time.Since(back)
	t.Logf("server1 removed the address %v after the cables came back", took.Round(time.Millisecond))
	if !strings.Contains(w.primary.Output(), "conflict: the secondary says it holds a service address this host held (its signed holding); removed it here") {
		t.Errorf("the removal was not logged as the secondary's holding:\n%s", w.primary.Output())
	}
	if !lab.WaitFor(slack, func() bool { return conflictNoticed(file, "it said so in a signed holding") }) {
		t.Errorf("no conflict notice saying the secondary holds the address:\n%s", readNotices(file))
	}
	// One owner from then on: server2, for as long as the operator lets
	// it; heartbeatd waits, saying why.
	settled := time.Now().Add(100 * time.Millisecond)
	if !lab.Stays(serviceRetry+time.Second, func() bool { return !hasAddr(w.S1) && w.holds(w.S2) }) {
		t.Fatalf("after the removal: server1 holds the address %v, server2 %v", hasAddr(w.S1), w.holds(w.S2))
	}
	noDuplicate(t, aw, settled)
	if !strings.Contains(w.primary.Output(), "the secondary says it holds the service addresses (its signed holding); waiting for its released") {
		t.Errorf("heartbeatd's wait does not say the secondary holds the address:\n%s", w.primary.Output())
	}

	// Given back by the operator: heartbeatd takes it on the released.
	released := time.Now()
	w.mustCtl("release")
	if !lab.WaitFor(2*time.Second, func() bool { return hasAddr(w.S1) }) {
		t.Fatalf("heartbeatd did not take the address back on released:\n%s", w.primary.Output())
	}
	t.Logf("server1 added the address %v after failoverctl release", time.Since(released).Round(time.Millisecond))
	w.waitAnswerFrom("server1", 2*time.Second)
	noDuplicate(t, aw, settled)
}

// After a switchover and back (a released came), forged ARP replies for
// the service address from the secondary's own MAC, sent by the client:
// heartbeatd keeps the address and notices a conflict. Before, the MAC
// that answered until the released and fell silent was taken for the
// secondary's, and its next answer made heartbeatd remove the address.
func TestForgedAnswersAtTheSecondarysMACTakeNothingAway(t *testing.T) {
	w := serviceWorld(t)
	lines, file := noticeConf(t, w.dir, "notices.s1")
	w.primaryConf = append(w.primaryConf, lines...)
	w.startService()
	mac1, mac2 := mac(t, lab.MAC(t, w.S1, "pub0")), mac(t, lab.MAC(t, w.S2, "pub0"))

	must(t, w.primary.Signal(syscall.SIGTERM))
	w.primary.Wait(5 * time.Second)
	w.waitState("active", slack)
	w.startPrimary()
	w.waitState("standby", holdDown+2*time.Second+slack)
	if !lab.WaitFor(2*time.Second, func() bool { return hasAddr(w.S1) }) {
		t.Fatalf("heartbeatd did not take its service address back:\n%s", w.primary.Output())
	}
	time.Sleep(time.Second) // past the old rule's three intervals of silence

	at := len(w.primary.Output())
	frame := lab.ARPFrame(lab.ARPReply, mac2, netip.MustParseAddr(lab.Server1Pub), mac1, netip.MustParseAddr("198.51.100.11"), mac1)
	w.send(frame, forgeries)
	kept := lab.Stays(holdDown, func() bool { return hasAddr(w.S1) })
	out := w.primary.Output()[at:]
	t.Logf("%d forged ARP replies at the secondary's MAC %s: server1 holds the address %v", forgeries, mac2, hasAddr(w.S1))
	if !kept || strings.Contains(out, "removed") {
		t.Fatalf("forged answers at the secondary's MAC made heartbeatd remove its service address:\n%s", out)
	}
	if !strings.Contains(out, "conflict: another host answers for a service address this host holds") || !strings.Contains(out, "mac="+mac2.String()) {
		t.Fatalf("heartbeatd did not log the forged answers as a conflict:\n%s", out)
	}
	if !lab.WaitFor(slack, func() bool { return conflictNoticed(file, mac2.String()) }) {
		t.Errorf("no conflict notice naming %s:\n%s", mac2, readNotices(file))
	}
}

// serviceRetry is heartbeatd's pace of questions for the addresses it
// holds, after the first three intervals.
const serviceRetry = 2 * time.Second
