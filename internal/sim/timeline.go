package sim

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// timeline keeps the last events, each with its simulated time.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	lines []string
	next  int
	full  bool
}

const timelineLen = 400

func newTimeline(start time.Time) *timeline {
	return &timeline{start: start, lines: make([]string, timelineLen)}
}

func (t *timeline) add(format string, args ...any) {
	line := fmt.Sprintf("%10.3fs  ", time.Since(t.start).Seconds()) + fmt.Sprintf(format, args...)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines[t.next] = line
	t.next = (t.next + 1) % len(t.lines)
	t.full = t.full || t.next == 0
}

// String is the timeline, oldest first.
func (t *timeline) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	if t.full {
		for _, l := range t.lines[t.next:] {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range t.lines[:t.next] {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// logWriter turns a daemon's log lines into timeline events.
type logWriter struct {
	t    *timeline
	name string
}

func (l logWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		l.t.add("%s: %s", l.name, line)
	}
	return len(b), nil
}

// logger is a daemon's log, into the timeline, without the wall time.
func (t *timeline) logger(name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t, name}, &slog.HandlerOptions{Level: logLevel,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// logLevel is the daemons' log level on the timeline: SIM_DEBUG=1 for
// every line.
var logLevel = func() slog.Level {
	if os.Getenv("SIM_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}()
