package hooks

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// maxLine bounds a line kept in memory: a hook that writes without
// newlines is logged in pieces rather than growing failoverd.
const maxLine = 16 << 10

// lineLogger logs what a hook writes, one record per line, as it arrives,
// so a hook that hangs has already shown how far it got.
type lineLogger struct {
	log    *slog.Logger
	level  slog.Level
	stream string // stdout or stderr
	buf    []byte
	tail   *tail // shared by a hook's two streams
}

// tailLines and tailWidth bound what a Result keeps of a hook's output.
const (
	tailLines = 5
	tailWidth = 200
)

// tail keeps the last lines a hook wrote; its two streams write from
// goroutines of their own.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lines)
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A hook may write any bytes; the tail goes into heartbeats and
	// JSON, which take only UTF-8, cut on a character's boundary.
	line = strings.ToValidUTF8(line, "?")
	if len(line) > tailWidth {
		line = strings.ToValidUTF8(line[:tailWidth], "") + "…"
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	start := 0
	for {
		i := bytes.IndexByte(w.buf[start:], '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[start : start+i])
		start += i + 1
	}
	for len(w.buf)-start >= maxLine {
		w.emit(w.buf[start : start+maxLine])
		start += maxLine
	}
	w.buf = w.buf[:copy(w.buf, w.buf[start:])] // keep only the unfinished line
	return len(p), nil
}

// flush logs a last line that had no newline.
func (w *lineLogger) flush() {
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	w.log.Log(context.Background(), w.level, "hook output", "stream", w.stream, "line", string(line))
	if w.tail != nil {
		w.tail.add(string(line))
	}
}
