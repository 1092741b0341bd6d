package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/safefile"
)

// sinceLayouts are the times --since takes besides a duration, read in
// the local time zone.
var sinceLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// parseSince reads --since: a duration back from now (2h, 90m), a date
// and time, or a time of day today (03:00).
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %s: a duration back from now is positive, such as 2h", v)
		}
		return now.Add(-d), nil
	}
	for _, layout := range sinceLayouts {
		if t, err := time.ParseInLocation(layout, v, now.Location()); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, now.Location()); err == nil {
			y, m, d := now.Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location()), nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: give a duration (2h, 30m), a time today (03:00) or a date and time (2006-01-02 15:04)", v)
}

// writeEvents prints the history as a timeline, one line per event and,
// under a job's end, one line per hook it ran, in the order they ran.
func writeEvents(w io.Writer, events []history.Entry, loc *time.Location) {
	if len(events) == 0 {
		fmt.Fprintln(w, "no events")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		// An event may quote what others wrote (a holder's name in
		// the arbiter): its control characters are made visible.
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.At.In(loc).Format("2006-01-02 15:04:05.000"), e.Kind, safefile.Visible(eventText(e)))
		for _, h := range e.Hooks {
			fmt.Fprintf(tw, "\t\t  %s %s: %s, %v\n", h.Stage, h.Name, h.Outcome(), h.Duration.Round(time.Millisecond))
		}
	}
	tw.Flush()
}

// eventText is what an event says after its time and kind.
func eventText(e history.Entry) string {
	switch e.Kind {
	case history.KindStart:
		return "failoverd started in state " + string(e.State)
	case history.KindTransition:
		return string(e.From) + " -> " + string(e.To)
	case history.KindJobStart:
		return string(e.Job) + " starts: " + e.Detail
	case history.KindJobEnd:
		s := string(e.Job) + " ends: " + e.Outcome
		if e.Took > 0 {
			s += fmt.Sprintf(" (%v)", e.Took.Round(time.Millisecond))
		}
		if len(e.Hooks) == 0 {
			s += "; no hooks ran"
		}
		return s
	case history.KindNotice:
		return string(e.Notice) + ": " + e.Detail
	case history.KindCommand:
		op := string(e.Op)
		if e.Force {
			op += " --force"
		}
		return "failoverctl " + op + ": " + e.Outcome
	case history.KindDrops:
		return fmt.Sprintf("%d packets dropped on %s: %s", e.Count, e.Link, e.Reason)
	case history.KindProbe:
		if e.Outcome == "" {
			return "probing the primary's host: " + e.Detail
		}
		return "probing ended (" + e.Outcome + "): " + e.Detail
	case history.KindCarrier:
		return e.Link + " carrier " + e.Outcome
	case history.KindYield:
		return e.Detail
	}
	return strings.TrimSpace(e.Detail)
}

// events asks failoverd for its history and prints it.
func events(socket, since string, asJSON bool, timeout time.Duration, stdout, stderr io.Writer) int {
	req := control.Request{Op: control.OpEvents}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "failoverctl: %v\n", err)
			return cli.ExitUsage
		}
		req.Since = t
	}
	resp, err := control.Call(socket, req, timeout)
	if err != nil {
		fmt.Fprintf(stderr, "failoverctl: %v\n", err)
		return cli.ExitFailure
	}
	if !resp.OK {
		fmt.Fprintf(stderr, "failoverctl: events: %s\n", resp.Error)
		return cli.ExitFailure
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if resp.Events == nil {
			resp.Events = []history.Entry{}
		}
		_ = enc.Encode(resp.Events)
		return cli.ExitOK
	}
	writeEvents(stdout, resp.Events, time.Local)
	return cli.ExitOK
}
