package hooks

import (
	"bytes"
	"log/slog"
)

// maxLine bounds a line kept in memory: a hook that writes without
// newlines is logged in pieces rather than growing failoverd.
const maxLine = 16 << 10

// lineLogger logs what a hook writes, one record per line, as it arrives,
// so a hook that hangs has already shown how far it got.
type lineLogger struct {
	log    *slog.Logger
	stream string // stdout or stderr
	buf    []byte
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
	w.log.Info("hook output", "stream", w.stream, "line", string(line))
}
