package cli

import (
	"log/slog"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/logging"
)

// Reload reads the configuration again (SIGHUP) and moves logging to the
// new destination. A configuration with errors is refused, each error
// logged, and nil returned: the daemon keeps what runs.
func (inv *Invocation) Reload(log *slog.Logger, logs *logging.Reloadable) *config.Config {
	nc, err := config.Load(inv.Role, inv.Sources)
	if err != nil {
		for _, e := range config.Errors(err) {
			log.Error("reload refused; keeping the running configuration", "err", e)
		}
		return nil
	}
	if err := logs.Reload(inv.LogOptions(nc)); err != nil {
		log.Error("cannot switch logging; keeping the old destination", "err", err)
	}
	LogWarnings(log, nc)
	return nc
}
