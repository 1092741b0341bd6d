package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Packages that act on the host or the network. The configuration and
// failoverctl, which only reads a socket path from it, need none of them;
// pulling one in drags netlink and raw sockets into every tool.
var executors = []string{
	"github.com/ipfailover/ipfailover/internal/takeover",
	"github.com/ipfailover/ipfailover/internal/neighbor",
	"github.com/ipfailover/ipfailover/internal/monitor",
	"github.com/ipfailover/ipfailover/internal/heartbeat",
	"github.com/ipfailover/ipfailover/internal/hooks",
	"github.com/ipfailover/ipfailover/internal/notify",
	"github.com/ipfailover/ipfailover/internal/lab",
	"github.com/vishvananda/netlink",
	"golang.org/x/net/icmp",
	"github.com/ipfailover/ipfailover/internal/metrics",
	"github.com/prometheus/client_golang/prometheus",
}

func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	t.Fatal("no go command on PATH or in $GOROOT/bin: this test asks it for the dependencies")
	return ""
}

// goListDeps is what pkg links when built for goos.
func goListDeps(t *testing.T, pkg, goos string) []string {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", pkg)
	cmd.Env = append(os.Environ(), "GOOS="+goos)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 2 {
		t.Fatalf("go list -deps %s printed %q", pkg, out)
	}
	return deps
}

func TestNoExecutorDependencies(t *testing.T) {
	// failoverctl shows hook results: it links the hooks package for its
	// Result type (the hooks package opens no socket).
	allowed := map[string][]string{
		"github.com/ipfailover/ipfailover/cmd/failoverctl": {"github.com/ipfailover/ipfailover/internal/hooks"},
	}
	for _, pkg := range []string{
		"github.com/ipfailover/ipfailover/internal/config",
		"github.com/ipfailover/ipfailover/cmd/failoverctl",
	} {
		for _, goos := range []string{"linux", "darwin"} {
			for _, d := range goListDeps(t, pkg, goos) {
				for _, e := range executors {
					if slices.Contains(allowed[pkg], e) {
						continue
					}
					if d == e || strings.HasPrefix(d, e+"/") {
						t.Errorf("GOOS=%s %s depends on %s", goos, pkg, d)
					}
				}
			}
		}
	}
}
