package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Daemon is the life both daemons share: a main task that is the daemon
// (the sender, the runtime), tasks beside it (the metrics endpoint, the
// control socket, listeners), a reload on SIGHUP, systemd told of each
// step, and an orderly end.
type Daemon struct {
	Name    string // in the last log line: "<Name> stopped"
	Log     *slog.Logger
	Systemd *Notifier
	// Main runs until ctx ends (SIGTERM or SIGINT) and returns; its end
	// ends the daemon. An error is a failure (exit 1).
	Main func(ctx context.Context) error
	// Tasks run beside Main until ctx ends, each in a goroutine of its
	// own; one that fails is logged and the others go on.
	Tasks []Task
	// Started runs once everything started and systemd heard READY (the
	// start's log line, the first announcements).
	Started func(ctx context.Context)
	// Reload applies a SIGHUP, between systemd's RELOADING and READY.
	Reload func(ctx context.Context)
	// Close closes what the daemon opened, once Main and every task
	// ended (nil: nothing).
	Close func()

	// signals is where the stop and reload signals come from (tests).
	signals func() (stop, hup <-chan os.Signal, release, done func())
}

// Task is one job beside the main one.
type Task struct {
	Name string
	Run  func(ctx context.Context) error
}

// Serve runs d and returns the exit code. The first SIGTERM or SIGINT
// ends ctx, so that Main can stop in order (failoverd gives its addresses
// back, heartbeatd says goodbye); a second one ends the process at once,
// as they are handled by default again by then. A SIGHUP during the stop
// does nothing (its default would end the process before the addresses
// are given back or the goodbye sent). Serve returns when Main and every
// task have ended and Close has run.
func (d Daemon) Serve() int {
	sigs := d.signals
	if sigs == nil {
		sigs = osSignals
	}
	stopSig, hup, release, done := sigs()
	ctx, cancel := context.WithCancel(context.Background())
	var tasks sync.WaitGroup
	for _, t := range d.Tasks {
		tasks.Go(func() {
			if err := t.Run(ctx); err != nil && ctx.Err() == nil {
				d.Log.Error(t.Name+" stopped", "err", err)
			}
		})
	}
	mainDone := make(chan error, 1)
	go func() { mainDone <- d.Main(ctx) }()
	d.Systemd.Ready()
	if d.Started != nil {
		d.Started(ctx)
	}
	var err error
wait:
	for {
		select {
		case <-hup:
			d.Systemd.Reloading()
			if d.Reload != nil {
				d.Reload(ctx)
			}
			d.Systemd.Ready()
		case <-stopSig:
			d.Systemd.Stopping()
			release()
			cancel()
			err = <-mainDone
			break wait
		case err = <-mainDone:
			d.Systemd.Stopping()
			release()
			break wait
		}
	}
	cancel()
	tasks.Wait()
	done()
	if d.Close != nil {
		d.Close()
	}
	if err != nil {
		d.Log.Error(d.Name+" stopped", "err", err)
		return ExitFailure
	}
	d.Log.Info(d.Name + " stopped")
	return ExitOK
}

// osSignals catches SIGTERM, SIGINT and SIGHUP. release hands SIGTERM and
// SIGINT back to their default handling; done stops catching SIGHUP.
func osSignals() (stop, hup <-chan os.Signal, release, done func()) {
	st := make(chan os.Signal, 1)
	h := make(chan os.Signal, 1)
	signal.Notify(st, syscall.SIGTERM, syscall.SIGINT)
	signal.Notify(h, syscall.SIGHUP)
	return st, h, func() { signal.Reset(syscall.SIGTERM, syscall.SIGINT) }, func() { signal.Stop(h) }
}
