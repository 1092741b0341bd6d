package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/lab"
)

// A wrong interface name in the pairs: the systemd unit never runs -n,
// so failoverd starts, and could never take the address. Past the
// start's grace (1 s here) a mail says so, status shows it, and another
// mail says when the interface is there.
func TestMissingInterfaceIsMailedAndShown(t *testing.T) {
	w := newWorld(t)
	for i, l := range w.conf {
		if strings.HasPrefix(l, "FAILOVER_PEER_IP_PAIRS=") {
			w.conf[i] = `FAILOVER_PEER_IP_PAIRS="pubx:` + lab.Server1Pub + `"`
		}
	}
	w.startPrimary()
	w.startSecondary()

	w.waitMail("interface pubx is missing, so no takeover of " + lab.Server1Pub + " can happen")
	if mails := w.mails(); !strings.Contains(mails, "interface pubx does not exist") || !strings.Contains(mails, "FAILOVER_PEER_IP_PAIRS") {
		t.Errorf("the mail does not say what is wrong and where:\n%s", mails)
	}
	if text := w.statusText(); !regexp.MustCompile(`pubx +silent, NO SUCH INTERFACE`).MatchString(text) || !strings.Contains(text, "interface pubx does not exist (missing since") {
		t.Errorf("status text does not say pubx is missing:\n%s", text)
	}
	out := w.mustCtl("status", "--json")
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{}
	for _, l := range st.Links {
		if l.Missing && !l.MissingSince.IsZero() {
			missing[l.Name] = true
		}
	}
	if len(missing) != 1 || !missing["pubx"] {
		t.Errorf("status --json: missing links %v, want pubx alone:\n%s", missing, out)
	}
	// Once, not at each look.
	time.Sleep(2 * time.Second)
	if n := len(regexp.MustCompile(`Subject: .*interface pubx is missing`).FindAllString(w.mails(), -1)); n != 1 {
		t.Errorf("%d mails of the missing interface, want 1:\n%s", n, w.mails())
	}

	// The name fixed the other way round: the public interface renamed
	// to what the pairs say. It is used at once: heard, and the state
	// is standby.
	w.S2.MustRun("ip", "link", "set", "dev", "pub0", "down")
	w.S2.MustRun("ip", "link", "set", "dev", "pub0", "name", "pubx")
	w.S2.MustRun("ip", "link", "set", "dev", "pubx", "up")
	w.waitMail("interface pubx is there again")
	if !lab.WaitFor(3*time.Second+slack, func() bool {
		l := w.link("pubx")
		return !l.Missing && l.Alive && w.state() == "standby"
	}) {
		t.Errorf("pubx is there, but status does not show it heard:\n%s", w.statusText())
	}
}
