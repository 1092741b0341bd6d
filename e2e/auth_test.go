package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/lab"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Different keys on the two servers: server1's heartbeats arrive from
// its own addresses and are dropped, and its host answers for its
// address. failoverd is in conflict, and says why wherever it says
// anything: failoverctl status (text and JSON), the notices (the
// conflict's and one of its own) and the metrics say the primary is
// heard, but not authenticated, with the key ids on both sides; no
// notice says failoverctl acquire --force takes the address, which would
// leave two hosts answering for it. Before, the conflict notice called
// the primary silent, its links "silent, never heard", and advised
// --force.
func TestKeyMismatchIsHeardButNotAuthenticated(t *testing.T) {
	dir := t.TempDir()
	ids := map[string]string{}
	for _, name := range []string{"here", "there"} {
		secret := fmt.Sprintf("the %s secret, 32 bytes long....", name)[:32]
		k, err := wire.NewKey([]byte(secret), name)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = fmt.Sprintf("%08x", k.ID)
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(secret+"\n"), 0o600))
	}
	w := newWorld(t, withConf("FAILOVER_AUTH_KEY_FILE="+filepath.Join(dir, "here"), "FAILOVER_METRICS_ADDR=127.0.0.1"))
	w.startPrimary("--auth-key-file", filepath.Join(dir, "there"))
	w.startSecondary()
	says := "heard, but not authenticated: key id " + ids["here"] + " here, " + ids["there"] + " in the packets"

	w.waitState("conflict", 5*time.Second)
	if w.holds(w.S2) {
		t.Fatal("server2 took the address while server1 answers for it")
	}

	text := w.statusText()
	for _, want := range []string{"heartbeats: " + says, "priv0: " + says, "pub0: " + says} {
		if !strings.Contains(text, want) {
			t.Errorf("failoverctl status does not say %q:\n%s", want, text)
		}
	}
	js, err := w.ctl("status", "--json")
	if err != nil {
		t.Fatalf("failoverctl status --json: %v\n%s", err, js)
	}
	for _, want := range []string{`"authentication": "` + says, `"key_ids": [` + "\n" + `    "` + ids["here"] + `"`,
		`"refused": "` + says, `"state": "refused"`, `"key_id": "` + ids["there"] + `"`} {
		if !strings.Contains(js, want) {
			t.Errorf("failoverctl status --json does not hold %s:\n%s", want, js)
		}
	}

	// The conflict's notice first (it says most), then failoverd's own.
	w.waitMail("is answered by")
	checked := map[string]bool{}
	checkMails := func() {
		t.Helper()
		for _, mail := range strings.Split(w.mails(), "\n----\n") {
			if mail == "" || checked[mail] {
				continue
			}
			checked[mail] = true
			if strings.Contains(mail, "--force") {
				t.Errorf("a notice suggests --force while server1's packets arrive:\n%s", mail)
			}
			if !strings.Contains(mail, says) {
				t.Errorf("a notice does not say %q:\n%s", says, mail)
			}
			if strings.Contains(mail, "is answered by") && (strings.Contains(mail, "never heard") || strings.Contains(mail, "the primary is silent")) {
				t.Errorf("the conflict notice calls the primary silent:\n%s", mail)
			}
		}
	}
	checkMails()
	w.waitMail("are not authenticated")
	checkMails()

	fams, err := scrape(t, w.S2, int(config.MetricsPortFailoverd))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	for _, link := range []string{"priv0", "pub0"} {
		if v := value(fams, "ipfailover_heartbeat_auth_info", "link", link, "state", "refused", "key_here", ids["here"], "key_in_packets", ids["there"]); v != 1 {
			t.Errorf("ipfailover_heartbeat_auth_info on %s: %v, want 1: %v", link, v, fams["ipfailover_heartbeat_auth_info"])
		}
	}
	if v := value(fams, "ipfailover_auth_keys"); v != 1 {
		t.Errorf("ipfailover_auth_keys %v, want 1", v)
	}
	if lab.Stays(time.Second, func() bool { return !w.holds(w.S2) }) == false {
		t.Error("server2 took the address while server1 answers for it")
	}
}
