// Package logging builds the daemons' slog logger: standard error by
// default, syslog with -L facility, and a file with --log-file.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Options choose where logs go.
type Options struct {
	Debug    bool   // -d: debug level
	Facility string // -L: syslog facility; empty: standard error
	File     string // --log-file: also append here
	Tag      string // program name, for syslog
	Stderr   io.Writer
}

// New returns the logger and a function that closes what it opened.
func New(o Options) (*slog.Logger, func() error, error) {
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	hopts := &slog.HandlerOptions{Level: level}
	var handlers []slog.Handler
	var closers []io.Closer
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c.Close())
		}
		return errors.Join(errs...)
	}
	if o.Facility != "" {
		h, c, err := newSyslog(o.Facility, o.Tag, level)
		if err != nil {
			return nil, nil, err
		}
		handlers = append(handlers, h)
		closers = append(closers, c)
	} else {
		w := o.Stderr
		if w == nil {
			w = os.Stderr
		}
		handlers = append(handlers, slog.NewTextHandler(w, hopts))
	}
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			_ = closeAll()
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		handlers = append(handlers, slog.NewTextHandler(f, hopts))
		closers = append(closers, f)
	}
	if len(handlers) == 1 {
		return slog.New(handlers[0]), closeAll, nil
	}
	return slog.New(fanout(handlers)), closeAll, nil
}

// fanout sends each record to every handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
