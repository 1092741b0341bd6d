package logging

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// Reloadable is a logger whose destination can be replaced while the
// daemon runs: on SIGHUP a changed log file or facility takes effect, and
// a rotated log file is reopened.
type Reloadable struct {
	cur *atomic.Pointer[slog.Handler]

	mu    sync.Mutex
	close func() error
}

// NewReloadable builds a logger for o that Reload can redirect.
func NewReloadable(o Options) (*slog.Logger, *Reloadable, error) {
	log, closeFn, err := New(o)
	if err != nil {
		return nil, nil, err
	}
	h := log.Handler()
	r := &Reloadable{cur: &atomic.Pointer[slog.Handler]{}, close: closeFn}
	r.cur.Store(&h)
	return slog.New(&switchHandler{cur: r.cur}), r, nil
}

// Reload builds the destination for o and switches to it; on error the
// old one stays.
func (r *Reloadable) Reload(o Options) error {
	log, closeFn, err := New(o)
	if err != nil {
		return err
	}
	h := log.Handler()
	r.mu.Lock()
	old := r.close
	r.close = closeFn
	r.cur.Store(&h)
	r.mu.Unlock()
	return old()
}

// Close closes the current destination.
func (r *Reloadable) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.close()
}

// switchHandler sends each record to the current handler, with the
// attributes and groups added to it along the way.
type switchHandler struct {
	cur *atomic.Pointer[slog.Handler]
	ops []func(slog.Handler) slog.Handler
}

func (s *switchHandler) handler() slog.Handler {
	h := *s.cur.Load()
	for _, op := range s.ops {
		h = op(h)
	}
	return h
}

func (s *switchHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return s.handler().Enabled(ctx, l)
}

func (s *switchHandler) Handle(ctx context.Context, r slog.Record) error {
	return s.handler().Handle(ctx, r)
}

func (s *switchHandler) with(op func(slog.Handler) slog.Handler) *switchHandler {
	ops := append(append([]func(slog.Handler) slog.Handler{}, s.ops...), op)
	return &switchHandler{cur: s.cur, ops: ops}
}

func (s *switchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (s *switchHandler) WithGroup(name string) slog.Handler {
	return s.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}
