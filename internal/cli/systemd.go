package cli

import (
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells systemd about the daemon's state. Outside systemd
// (no NOTIFY_SOCKET) every call does nothing.
type Notifier struct {
	log      *slog.Logger
	watchdog time.Duration // WatchdogSec; zero when not set
	mu       sync.Mutex
	lastPing time.Time
}

// NewNotifier reads the watchdog setting from the environment.
func NewNotifier(log *slog.Logger) *Notifier {
	n := &Notifier{log: log}
	if d, err := daemon.SdWatchdogEnabled(false); err == nil && d > 0 {
		n.watchdog = d
		log.Debug("systemd watchdog enabled", "timeout", d)
	}
	return n
}

func (n *Notifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Warn("cannot notify systemd", "state", state, "err", err)
	}
}

// Ready: the sockets are open and the daemon works.
func (n *Notifier) Ready() { n.send(daemon.SdNotifyReady) }

// Reloading and Ready again around a SIGHUP reload.
func (n *Notifier) Reloading() { n.send(daemon.SdNotifyReloading) }

// Stopping: the daemon is shutting down.
func (n *Notifier) Stopping() { n.send(daemon.SdNotifyStopping) }

// Alive pings the watchdog, at most every third of its timeout, so it can
// be called from loops that run far more often, from any goroutine.
func (n *Notifier) Alive(now time.Time) {
	if n.watchdog == 0 {
		return
	}
	n.mu.Lock()
	due := now.Sub(n.lastPing) >= n.watchdog/3
	if due {
		n.lastPing = now
	}
	n.mu.Unlock()
	if due {
		n.send(daemon.SdNotifyWatchdog)
	}
}

// WatchdogInterval is WatchdogSec, zero when unset.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }
