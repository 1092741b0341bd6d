// Command failoverd runs on the secondary server: it listens for the
// primary's heartbeats and takes over the primary's public addresses when
// they stop on every link.
//
// This version has the command line, the configuration and check mode
// (-n); the listener and takeover are being built (see the README).
package main

import (
	"fmt"
	"os"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
)

// exitUnavailable is EX_UNAVAILABLE from sysexits.h.
const exitUnavailable = 69

func main() { os.Exit(cli.Main(config.Failoverd, run)) }

func run(inv *cli.Invocation, _ *config.Config) int {
	fmt.Fprintln(inv.Stderr, "failoverd: this version only checks the configuration (failoverd -n); the listener and address takeover are not in this release")
	return exitUnavailable
}
