package neighbor

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// TestMain lets the test binary open a socket as a child process, so
// that a test can run it without a capability.
func TestMain(m *testing.M) {
	switch os.Getenv("IPFO_NEIGHBOR_STEP") {
	case "announce":
		_, err := NewAnnouncer()
		fmt.Println(err)
		return
	case "ask":
		_, err := NewAsker([]netip.Addr{netip.MustParseAddr("198.51.100.1")}, nil)
		fmt.Println(err)
		return
	}
	os.Exit(m.Run())
}

// Without CAP_NET_RAW, the error names the capability.
func TestPermissionErrorsNameTheCapability(t *testing.T) {
	ns := lab.New(t).Netns("a")
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipped: needs setpriv (util-linux) to drop capabilities")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"announce", "ask"} {
		cmd := ns.Command("env", "IPFO_NEIGHBOR_STEP="+step, "setpriv", "--bounding-set=-net_admin,-net_raw", "--inh-caps=-all", "--", exe)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out)
		}
		if want := "needs CAP_NET_RAW"; !strings.Contains(string(out), want) || !strings.Contains(string(out), "permission denied") {
			t.Errorf("%s without the capability says %q, want it to say %q", step, strings.TrimSpace(string(out)), want)
		}
	}
}
