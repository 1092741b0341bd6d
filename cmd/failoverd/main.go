// Command failoverd runs on the secondary server: it listens for the
// primary's heartbeats on every link and takes over the primary's public
// addresses when they stop on all of them, running the administrator's
// hooks around it; when the primary returns, it gives them back.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/failoverd"
	"github.com/ipfailover/ipfailover/internal/logging"
)

func main() { os.Exit(cli.Main(config.Failoverd, run)) }

func run(inv *cli.Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int {
	sd := cli.NewNotifier(log)
	d, err := failoverd.Open(c, log, sd)
	if err != nil {
		log.Error("cannot start", "err", err)
		return cli.ExitFailure
	}
	defer d.Close()
	// A stop while Run gives the addresses back; a second signal ends
	// the process at once.
	code := cli.Daemon{Log: log, Systemd: sd, Main: d.Run, Tasks: d.Tasks, Started: d.Started,
		Reload: func(context.Context) { d.Reload(inv.Reload(log, logs)) },
	}.Serve()
	log.Info("failoverd stopped")
	return code
}
