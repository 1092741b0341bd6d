package config

import (
	"strings"
	"testing"
)

// The secondary's side: its state machine, runtime, receiver, control
// socket and event history. heartbeatd, the primary, sends heartbeats,
// holds its service addresses and may send a conflict notice: it needs
// none of them, and a fix to one must not have to be shipped in it.
var secondarySide = []string{
	"github.com/ipfailover/ipfailover/internal/failover",
	"github.com/ipfailover/ipfailover/internal/failoverd",
	"github.com/ipfailover/ipfailover/internal/monitor",
	"github.com/ipfailover/ipfailover/internal/control",
	"github.com/ipfailover/ipfailover/internal/history",
}

func TestHeartbeatdLinksNothingOfTheSecondary(t *testing.T) {
	const pkg = "github.com/ipfailover/ipfailover/cmd/heartbeatd"
	for _, goos := range []string{"linux", "darwin"} {
		for _, d := range goListDeps(t, pkg, goos) {
			for _, s := range secondarySide {
				if d == s || strings.HasPrefix(d, s+"/") {
					t.Errorf("GOOS=%s %s depends on %s", goos, pkg, d)
				}
			}
		}
	}
}
