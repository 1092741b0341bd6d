package e2e

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// Forged answers (issue 21, item 2). After a power-off and a takeover,
// anyone on the public switch can send an ARP request or a neighbour
// advertisement naming the primary's address at the primary's MAC, or at
// a MAC it sent such frames from while the primary lived. Before the fix
// failoverd learnt the primary's MAC from any such frame and gave the
// address back to the dead primary at the first one (Test, PreRel,
// PostRel), took it again 130 ms later, and so on at every frame; and its
// conflict notice called the forger's MAC the primary's. Only the
// primary's heartbeats, which the key signs, may say it is back, or
// which MAC is its own.

const (
	forgeries  = 10
	forgeEvery = 100 * time.Millisecond
)

var (
	// The public link carries an IPv6 address too, from the
	// documentation prefix (RFC 3849), inside the lab only.
	primary6 = netip.MustParseAddr("2001:db8::1")
	server26 = netip.MustParseAddr("2001:db8::2")
	// forgerMAC is from the documentation range of RFC 7042.
	forgerMAC = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x53, 0x66}
)

// forgeryWorld is a keyed pair, so that heartbeats say which MAC is the
// primary's, with hooks that log; failoverd takes over the primary's
// IPv6 address on the public link too.
func forgeryWorld(t *testing.T) *world {
	key := filepath.Join(t.TempDir(), "key")
	must(t, os.WriteFile(key, []byte("a secret of thirty-two bytes, ok\n"), 0o600))
	w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+key), withPrimaryConf("FAILOVER_AUTH_KEY_FILE="+key),
		withHook("Test", ""), withHook("PreAcq10.a", ""), withHook("PreRel10.d", ""), withHook("PostRel10.e", ""),
		func(w *world) {
			for i, l := range w.conf {
				if strings.HasPrefix(l, "FAILOVER_PEER_IP_PAIRS=") {
					w.conf[i] = `FAILOVER_PEER_IP_PAIRS="pub0:` + lab.Server1Pub + ` pub0:[` + primary6.String() + `]"`
				}
			}
		})
	w.S1.MustRun("ip", "-6", "addr", "add", primary6.String()+"/64", "dev", "pub0", "nodad")
	w.S2.MustRun("ip", "-6", "addr", "add", server26.String()+"/64", "dev", "pub0", "nodad")
	return w
}

// mac parses a MAC address the lab read.
func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	must(t, err)
	return m
}

// forgedARP is an ARP request from the public switch, unicast to
// server2, that names the primary's address at sender: "who has
// server2's address? tell the primary's, at sender".
func (w *world) forgedARP(sender net.HardwareAddr) []byte {
	return lab.ARPFrame(lab.ARPRequest, sender, netip.MustParseAddr(lab.Server1Pub),
		make(net.HardwareAddr, 6), netip.MustParseAddr(lab.Server2Pub), mac(w.t, lab.MAC(w.t, w.S2, "pub0")))
}

// forgedNA is a solicited neighbour advertisement, unicast to server2,
// that says the primary's IPv6 address is at target.
func (w *world) forgedNA(target net.HardwareAddr) []byte {
	return lab.NAFrame(target, mac(w.t, lab.MAC(w.t, w.S2, "pub0")), primary6, server26, primary6, target,
		lab.NASolicited|lab.NAOverride)
}

// send sends frame n times from the client's public leg, forgeEvery
// apart.
func (w *world) send(frame []byte, n int) {
	w.t.Helper()
	for i := range n {
		if i > 0 {
			time.Sleep(forgeEvery)
		}
		must(w.t, lab.SendFrame(w.Client, "eth0", frame))
	}
}

// powerOffTakenOver powers server1 off and waits until server2 holds its
// addresses.
func (w *world) powerOffTakenOver() {
	w.t.Helper()
	w.PowerOff()
	w.waitState("active", timeout+slack)
	w.waitAnswerFrom("server2", 2*time.Second)
}

// forgeAfterTakeover sends n frames after the takeover and fails the
// test unless failoverd heard each (as an answer for addr at from) and
// gave nothing back: no give-back job, no PreRel or PostRel, server2
// active with the addresses throughout and for a hold-down after.
func (w *world) forgeAfterTakeover(frame []byte, n int, addr string, from net.HardwareAddr) {
	t := w.t
	t.Helper()
	logAt, hooksAt := len(w.secondary.Output()), len(w.hookRuns())
	w.send(frame, n)
	lab.Stays(holdDown, func() bool { return w.state() == "active" && w.holds(w.S2) })
	out := w.secondary.Output()[logAt:]
	heard := strings.Count(out, "msg=answered addr="+addr+" mac="+from.String())
	givebacks := strings.Count(out, `msg="job starts" job=giveback`)
	var rel []string
	for _, r := range w.hookRuns()[hooksAt:] {
		if strings.HasPrefix(r, "PreRel ") || strings.HasPrefix(r, "PostRel ") {
			rel = append(rel, r)
		}
	}
	t.Logf("%d forged frames for %s at %s: failoverd heard %d, started %d give-backs, ran %d release hooks; state %s, holds %v",
		n, addr, from, heard, givebacks, len(rel), w.state(), w.holds(w.S2))
	if heard < n {
		t.Fatalf("failoverd heard %d of the %d forged frames for %s at %s: the test proves nothing\nfailoverd:\n%s", heard, n, addr, from, out)
	}
	if givebacks > 0 || len(rel) > 0 || w.state() != "active" || !w.holds(w.S2) {
		t.Errorf("the primary is powered off, yet %d forged frames for %s at %s started %d give-backs (release hooks: %q); state %s, holds %v; want none, active\nfailoverd since the first frame:\n%s",
			n, addr, from, givebacks, rel, w.state(), w.holds(w.S2), out)
	}
}

// Ten forged ARP requests and ten forged neighbour advertisements at the
// primary's own MAC, after a power-off and the takeover: nothing is
// given back.
func TestForgedAnswersAtThePrimarysMAC(t *testing.T) {
	for _, c := range []struct {
		name  string
		frame func(w *world, m net.HardwareAddr) []byte
		addr  string
	}{
		{"ARP", (*world).forgedARP, lab.Server1Pub},
		{"NA", (*world).forgedNA, primary6.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := forgeryWorld(t)
			w.start()
			w.waitAnswerFrom("server1", 2*time.Second)
			m1 := mac(t, lab.MAC(t, w.S1, "pub0"))
			w.powerOffTakenOver()
			w.forgeAfterTakeover(c.frame(w, m1), forgeries, c.addr, m1)
		})
	}
}

// The forger sends its frames from a MAC of its own while the primary
// lives, then again after a power-off and the takeover: nothing is given
// back, and the conflict notice does not call the forger's MAC the
// primary's (before the fix it was learnt as the primary's MAC).
func TestForgedAnswersAtALearntMAC(t *testing.T) {
	w := forgeryWorld(t)
	w.start()
	w.waitAnswerFrom("server1", 2*time.Second)
	frame := w.forgedARP(forgerMAC)
	w.send(frame, forgeries)
	w.powerOffTakenOver()
	w.forgeAfterTakeover(frame, forgeries, lab.Server1Pub, forgerMAC)

	// The notice names the forger, and not as the primary.
	named := "is answered by " + forgerMAC.String()
	w.waitMail(named)
	if mails := w.mails(); strings.Contains(mails, named+" (the primary's MAC") {
		t.Errorf("a notice calls the forger's MAC the primary's:\n%s", mails)
	}
	if a := w.status().Answering; a != nil && a.MAC == forgerMAC.String() && a.Primary {
		t.Errorf("status calls the forger's MAC the primary's:\n%s", w.statusText())
	}
}
