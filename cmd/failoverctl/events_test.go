package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func TestWriteEventsTimeline(t *testing.T) {
	at := time.Date(2026, 5, 1, 3, 12, 4, 123e6, time.UTC)
	ms := time.Millisecond
	events := []history.Entry{
		{Seq: 1, At: at, Kind: history.KindStart, State: failover.Starting},
		{Seq: 2, At: at.Add(ms), Kind: history.KindTransition, From: failover.Standby, To: failover.Acquiring},
		{Seq: 3, At: at.Add(ms), Kind: history.KindJobStart, Job: failover.Takeover, Detail: "no heartbeat on priv0 or pub0 for 300ms"},
		{Seq: 4, At: at.Add(340 * ms), Kind: history.KindJobEnd, Job: failover.Takeover, Outcome: "done", Took: 339 * ms, Hooks: []hooks.Result{
			{Stage: hooks.Test, Name: "Test", Duration: 12 * ms},
			{Stage: hooks.PreAcq, Name: "PreAcq10.a", Exit: 2, Duration: 5 * ms},
			{Stage: hooks.PostAcq, Name: "PostAcq10.c", Exit: -1, TimedOut: true, Err: errors.New("killed"), Duration: 60 * time.Second},
		}},
		{Seq: 5, At: at.Add(341 * ms), Kind: history.KindNotice, Notice: notice.Takeover, Detail: "took the addresses over"},
		{Seq: 6, At: at.Add(2 * time.Second), Kind: history.KindCommand, Op: failover.OpAcquire, Force: true, Outcome: "this host holds the addresses already"},
		{Seq: 7, At: at.Add(3 * time.Second), Kind: history.KindDrops, Link: "pub0", Reason: wire.DropBadTag, Count: 25},
		{Seq: 8, At: at.Add(4 * time.Second), Kind: history.KindJobEnd, Job: failover.GiveBack, Outcome: "vetoed by Test"},
	}
	var b bytes.Buffer
	writeEvents(&b, events, time.UTC)
	want := `2026-05-01 03:12:04.123  start       failoverd started in state starting
2026-05-01 03:12:04.124  transition  standby -> acquiring
2026-05-01 03:12:04.124  job-start   takeover starts: no heartbeat on priv0 or pub0 for 300ms
2026-05-01 03:12:04.463  job-end     takeover ends: done (339ms)
                                       Test Test: exit 0, 12ms
                                       PreAcq PreAcq10.a: exit 2, 5ms
                                       PostAcq PostAcq10.c: timed out, 1m0s
2026-05-01 03:12:04.464  notice      takeover: took the addresses over
2026-05-01 03:12:06.123  command     failoverctl acquire --force: this host holds the addresses already
2026-05-01 03:12:07.123  drops       25 packets dropped on pub0: bad-tag
2026-05-01 03:12:08.123  job-end     giveback ends: vetoed by Test; no hooks ran
`
	if got := b.String(); got != want {
		t.Errorf("timeline:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	writeEvents(&b, nil, time.UTC)
	if b.String() != "no events\n" {
		t.Errorf("empty history: %q", b.String())
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                        now.Add(-2 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"03:00":                     time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC),
		"2026-04-30 23:15":          time.Date(2026, 4, 30, 23, 15, 0, 0, time.UTC),
		"2026-04-30T23:15:05+02:00": time.Date(2026, 4, 30, 21, 15, 5, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("--since %s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-2h", "25:00"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("--since %s accepted", bad)
		}
	}
}

func TestEventsUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"status", "--since", "2h"}, &out, &errb); code != 64 || !strings.Contains(errb.String(), "--since goes with events only") {
		t.Errorf("status --since: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--control-socket", "/nonexistent/sock", "events", "--since", "soon"}, &out, &errb); code != 64 || !strings.Contains(errb.String(), "give a duration") {
		t.Errorf("events --since soon: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--control-socket", "/nonexistent/sock", "events"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no failoverd control socket") {
		t.Errorf("events without failoverd: exit %d %q", code, errb.String())
	}
}
