package monitor

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// Closing the monitor ends Run, with no error and nothing logged as a
// failure: closed sockets are how a monitor stops, not how one fails.
// Loopback only; no root needed.
func TestClosingTheMonitorEndsRunWithoutAnError(t *testing.T) {
	m, _ := loopbackMonitor(t)
	var logs bytes.Buffer
	m.log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, func([]Heard) {}) }()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run ended with %v after Close", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after Close")
	}
	if logs.Len() != 0 {
		t.Fatalf("Close logged:\n%s", logs.String())
	}
}
