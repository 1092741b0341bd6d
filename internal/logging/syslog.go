package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"strings"
	"sync"
)

var facilities = map[string]syslog.Priority{
	"daemon": syslog.LOG_DAEMON, "auth": syslog.LOG_AUTH, "user": syslog.LOG_USER,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// syslogHandler formats a record as text and sends it at the syslog
// severity matching its level.
type syslogHandler struct {
	w     *syslog.Writer
	level slog.Level
	mu    *sync.Mutex
	buf   *bytes.Buffer
	text  slog.Handler // writes into buf
}

func newSyslog(facility, tag string, level slog.Level) (slog.Handler, io.Closer, error) {
	pri, ok := facilities[facility]
	if !ok {
		return nil, nil, fmt.Errorf("syslog facility %q: use daemon, auth, user or local0 to local7", facility)
	}
	w, err := syslog.New(pri|syslog.LOG_INFO, tag)
	if err != nil {
		return nil, nil, fmt.Errorf("syslog: %w", err)
	}
	buf := &bytes.Buffer{}
	h := &syslogHandler{w: w, level: level, mu: &sync.Mutex{}, buf: buf,
		text: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level, ReplaceAttr: dropTime})}
	return h, w, nil
}

// dropTime leaves the time stamp to syslog.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimSuffix(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Err(msg)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(msg)
	case r.Level >= slog.LevelInfo:
		return h.w.Info(msg)
	}
	return h.w.Debug(msg)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(as)
	return &c
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}
