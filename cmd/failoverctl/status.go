package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/safefile"
	"github.com/ipfailover/ipfailover/internal/wire"
)

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Millisecond).String() + " ago"
}

// writeStatus prints the status for a person.
func writeStatus(w io.Writer, s *control.Status, now time.Time) {
	fmt.Fprintf(w, "failoverd on %s: %s since %s (%s)\n", s.Node, s.State, s.Since.Local().Format("2006-01-02 15:04:05"), ago(s.Since, now))
	peer := s.Peer
	if s.PeerName != "" {
		peer += " (" + s.PeerName + ")"
	}
	fmt.Fprintf(w, "primary %s, interval %v, timeout %v", peer, s.PeerInterval, s.Timeout)
	if s.PeerEpoch != 0 {
		fmt.Fprintf(w, ", epoch %d", s.PeerEpoch)
	}
	fmt.Fprintln(w)
	if s.Authentication != "" {
		fmt.Fprintf(w, "heartbeats: %s\n", s.Authentication)
	}
	if h := s.PrimaryHealth; !h.Since.IsZero() {
		if h.Healthy {
			fmt.Fprintf(w, "primary's service: healthy since %s (%s)\n", h.Since.Local().Format("2006-01-02 15:04:05"), ago(h.Since, now))
		} else {
			fmt.Fprintf(w, "primary's service: UNHEALTHY since %s (%s): %s\n", h.Since.Local().Format("2006-01-02 15:04:05"), ago(h.Since, now), h.Detail)
		}
	}

	writeStandbys(w, s, now)
	writeArbiter(w, s.Arbiter, now)

	fmt.Fprintln(w, "\nlinks:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range s.Links {
		state := "silent"
		if l.Alive {
			state = "alive"
		}
		if l.NoCarrier {
			state += ", no carrier"
		}
		if l.Missing {
			state += ", NO SUCH INTERFACE"
		}
		heard := "last heartbeat " + ago(l.LastHeard, now)
		if !l.Goodbye.IsZero() {
			heard += ", goodbye " + ago(l.Goodbye, now)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\treceived %d\t%s\n", l.Name, state, heard, l.Received, dropped(l.Dropped))
	}
	if len(s.OtherDropped) > 0 {
		fmt.Fprintf(tw, "  (other interfaces)\t\t\t\t%s\n", dropped(s.OtherDropped))
	}
	tw.Flush()
	for _, l := range s.Links {
		if l.Missing {
			fmt.Fprintf(w, "  interface %s does not exist (missing since %s, %s): nothing is heard or taken on it\n",
				l.Name, l.MissingSince.Local().Format("2006-01-02 15:04:05"), ago(l.MissingSince, now))
		}
		if l.Refusing() {
			fmt.Fprintf(w, "  %s: %s, the last %s\n", l.Name, l.Refused, ago(l.RefusedAt, now))
		}
	}

	fmt.Fprintln(w, "\naddresses:")
	for _, a := range s.Addresses {
		held := "not held"
		if a.Held {
			held = "held"
		}
		fmt.Fprintf(w, "  %s  %s\n", a.Address, held)
	}

	if s.AskEvery > 0 {
		fmt.Fprintf(w, "\nasking who answers for the addresses every %v\n", s.AskEvery)
	}

	if a := s.Answering; a != nil {
		fmt.Fprintf(w, "\n%s is answered by %s (%s), %s\n", a.Addr, a.MAC, a.Whose(), ago(a.At, now))
	}

	if len(s.Stages) > 0 {
		fmt.Fprintln(w, "\nlast hook runs:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, st := range s.Stages {
			var runs []string
			for _, h := range st.Hooks {
				runs = append(runs, fmt.Sprintf("%s %s (%v)", h.Name, h.Outcome(), h.Duration.Round(time.Millisecond)))
			}
			if len(runs) == 0 {
				runs = []string{"no hooks"}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", st.Stage, st.Address, st.At.Local().Format("15:04:05"), strings.Join(runs, ", "))
		}
		tw.Flush()
	}
}

func dropped(d map[wire.DropReason]uint64) string {
	if len(d) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(d))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, d[k]))
	}
	return "dropped: " + strings.Join(parts, ", ")
}

// command sends req to failoverd and prints its answer: the status, or
// what the command did, as text or JSON.
func command(socket string, req control.Request, asJSON bool, timeout time.Duration, stdout, stderr io.Writer) int {
	resp, err := control.Call(socket, req, timeout)
	if err != nil {
		fmt.Fprintf(stderr, "failoverctl: %v\n", err)
		return cli.ExitFailure
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if req.Op == control.OpStatus {
			_ = enc.Encode(resp.Status)
		} else {
			_ = enc.Encode(resp)
		}
	} else {
		if resp.Message != "" {
			fmt.Fprintf(stdout, "%s: %s\n\n", req.Op, resp.Message)
		}
		if resp.Status != nil {
			writeStatus(stdout, resp.Status, time.Now())
		}
	}
	if !resp.OK {
		fmt.Fprintf(stderr, "failoverctl: %s: %s\n", req.Op, resp.Error)
		return cli.ExitFailure
	}
	return cli.ExitOK
}

// writeStandbys prints this host's priority, the other standbys heard
// and whom this host yields to.
func writeStandbys(w io.Writer, s *control.Status, now time.Time) {
	if s.Priority == 0 {
		return
	}
	if len(s.Standbys) == 0 {
		fmt.Fprintf(w, "standbys: this host alone, priority %d\n", s.Priority)
	} else {
		fmt.Fprintf(w, "standbys: this host priority %d; heard:\n", s.Priority)
		for _, p := range s.Standbys {
			what := "standing by"
			switch {
			case p.Holding:
				what = "HOLDS THE ADDRESSES"
			case !p.Eligible:
				what = "standing by, will not take (held by its operator or vetoed)"
			}
			tie := ""
			if p.Priority == s.Priority {
				tie = " (SAME PRIORITY AS THIS HOST: set FAILOVER_PRIORITY apart)"
			}
			fmt.Fprintf(w, "  %s priority %d from %s on %s, %s, heard %s%s\n", safefile.Visible(p.Name), p.Priority, p.From, safefile.Visible(p.Link), what, ago(p.Heard, now), tie)
		}
	}
	if y := s.Yielding; y != nil {
		fmt.Fprintf(w, "  %s\n", safefile.Visible(y.Words()))
	}
}

// writeArbiter prints what the arbiter's client knows.
func writeArbiter(w io.Writer, a *arbiter.Status, now time.Time) {
	if a == nil {
		return
	}
	reach := "REACHABLE"
	if !a.Reachable {
		reach = "NOT REACHABLE: " + safefile.Visible(a.Err)
	}
	fmt.Fprintf(w, "arbiter: majority %s; %d of %d members answer", reach, a.Answering, a.Members)
	if a.Leaderless > 0 {
		fmt.Fprintf(w, ", %d with no leader in view", a.Leaderless)
	}
	if a.Refusing > 0 {
		fmt.Fprintf(w, ", %d refuse the connection", a.Refusing)
	}
	fmt.Fprintln(w)
	if a.Lease != 0 {
		fmt.Fprintf(w, "  lease %x, TTL %v, renewed %s, this host's deadline in %v\n", int64(a.Lease), a.TTL, ago(a.Renewed, now), a.Deadline.Sub(now).Round(time.Millisecond))
	} else {
		fmt.Fprintln(w, "  no lease")
	}
	if a.LeasesLost > 0 {
		fmt.Fprintf(w, "  leases lost: %d, the last %s\n", a.LeasesLost, ago(a.LeaseLostAt, now))
	}
	// What etcd holds is written by whoever may write there: its
	// control characters must not rewrite root's terminal.
	for _, addr := range slices.Sorted(maps.Keys(a.Holders)) {
		fmt.Fprintf(w, "  key of %s held by %s\n", safefile.Visible(addr), safefile.Visible(a.Holders[addr]))
	}
	for _, n := range slices.Sorted(maps.Keys(a.Nodes)) {
		fmt.Fprintf(w, "  alive: %s (%s)\n", safefile.Visible(n), safefile.Visible(a.Nodes[n]))
	}
}
