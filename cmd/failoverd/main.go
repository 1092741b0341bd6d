// Command failoverd runs on the secondary server: it listens for the
// primary's heartbeats on every link and takes over the primary's public
// addresses when they stop on all of them, running the administrator's
// hooks around it; when the primary returns, it gives them back.
package main

import (
	"os"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/failoverd"
)

func main() {
	os.Exit(cli.Main(config.Failoverd, failoverd.Main, failoverd.CheckStandbys, failoverd.CheckArbiter))
}
