// Package notify tells the administrator what failoverd did and why: by
// mail through sendmail, as the original NotifyFailover did, or through any
// command (chat webhook, pager) that reads the notice as JSON.
package notify

import (
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/notice"

	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// Notice is one notice to the administrator: what happened, to which
// addresses, and the state of the links and hooks that led to it, so that
// the mail alone is enough to understand a failover at 3 a.m.
type Notice struct {
	Kind      notice.Kind    `json:"kind"`
	At        time.Time      `json:"time"`
	Node      string         `json:"node"`      // this host
	Peer      string         `json:"peer"`      // the primary's private address
	Addresses []string       `json:"addresses"` // e.g. "eth0:198.51.100.1/32"
	Links     []notice.Link  `json:"links"`
	Hooks     []hooks.Result `json:"hooks,omitempty"`
	Detail    string         `json:"detail,omitempty"` // one sentence: why
	// Interface is the interface a notice of an interface is about
	// (notice.InterfaceMissing, notice.InterfaceBack).
	Interface string `json:"interface,omitempty"`
}

// Notifier delivers a notice somewhere a person will see it.
type Notifier interface {
	Notify(ctx context.Context, e Notice) error
}

// Subject is one line saying what happened on which host. Every value in it
// is flattened to one line, so it is safe to use in a mail header.
func (e Notice) Subject() string {
	return "ipfailover: " + e.headline()
}

// Body is the plain-text report: what, when, links, addresses, hooks, why.
func (e Notice) Body() string {
	var b strings.Builder
	b.WriteString(e.headline() + ".\n\n")
	if e.Detail != "" {
		b.WriteString(oneLine(e.Detail) + "\n\n")
	}

	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "When:\t%s\n", when(e.At))
	fmt.Fprintf(w, "Host:\t%s\n", orUnknown(e.Node))
	fmt.Fprintf(w, "Primary:\t%s\n", orUnknown(e.Peer))
	fmt.Fprintf(w, "Event:\t%s\n", oneLine(string(e.Kind)))
	w.Flush()

	b.WriteString("\nLinks:\n")
	if len(e.Links) == 0 {
		b.WriteString("  (none known)\n")
	}
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, l := range e.Links {
		fmt.Fprintf(w, "  %s\t%s\n", orUnknown(l.Name), linkState(l, e.At))
	}
	w.Flush()

	b.WriteString("\nAddresses:\n")
	if len(e.Addresses) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, a := range e.Addresses {
		b.WriteString("  " + oneLine(a) + "\n")
	}

	if len(e.Hooks) > 0 {
		b.WriteString("\nHooks, in the order they ran:\n")
		w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, h := range e.Hooks {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s", oneLine(string(h.Stage)), orUnknown(h.Name), h.Outcome(), h.Duration.Round(time.Millisecond))
			if h.Err != nil && h.Outcome() != h.Err.Error() {
				fmt.Fprintf(w, "\t%s", oneLine(h.Err.Error()))
			}
			fmt.Fprintln(w)
		}
		w.Flush()
	}
	return b.String()
}

// headline is the sentence shared by the subject and the body's first line.
func (e Notice) headline() string {
	node, peer, addrs := orUnknown(e.Node), orUnknown(e.Peer), e.addressList()
	switch e.Kind {
	case notice.Takeover:
		return fmt.Sprintf("%s took over %s from %s", node, addrs, peer)
	case notice.GiveBack:
		if len(e.Links) > 0 && !slices.ContainsFunc(e.Links, func(l notice.Link) bool { return l.Alive }) {
			return fmt.Sprintf("%s gave %s up while %s is silent", node, addrs, peer)
		}
		return fmt.Sprintf("%s gave %s back to %s", node, addrs, peer)
	case notice.Anomaly:
		var silent []string
		for _, l := range e.Links {
			if !l.Alive {
				silent = append(silent, orUnknown(l.Name))
			}
		}
		if len(silent) == 0 {
			return fmt.Sprintf("%s: network anomaly with %s", node, peer)
		}
		return fmt.Sprintf("%s: network anomaly, no heartbeats from %s on %s", node, peer, strings.Join(silent, ", "))
	case notice.AnomalyCleared:
		return fmt.Sprintf("%s: network anomaly cleared, heartbeats from %s on every link", node, peer)
	case notice.TakeoverFailed:
		return fmt.Sprintf("%s could not take over all of %s from %s", node, addrs, peer)
	case notice.GiveBackFailed:
		return fmt.Sprintf("%s could not give all of %s back to %s", node, addrs, peer)
	case notice.PrimaryBack:
		return fmt.Sprintf("%s: %s is back; %s stay here until failoverctl release", node, peer, addrs)
	case notice.Veto:
		return fmt.Sprintf("%s: the Test hook vetoed failover of %s (primary %s)", node, addrs, peer)
	case notice.HookFailure:
		var failed []hooks.Result
		for _, h := range e.Hooks {
			if !h.OK() {
				failed = append(failed, h)
			}
		}
		if len(failed) == 0 {
			return fmt.Sprintf("%s: a hook failed for %s", node, addrs)
		}
		s := fmt.Sprintf("%s: hook %s failed (%s) for %s", node, orUnknown(failed[0].Name), failed[0].Outcome(), addrs)
		switch n := len(failed) - 1; {
		case n == 1:
			s += "; 1 more hook failed"
		case n > 1:
			s += fmt.Sprintf("; %d more hooks failed", n)
		}
		return s
	case notice.Conflict:
		return fmt.Sprintf("%s: another host answers for %s (primary %s)", node, addrs, peer)
	case notice.Unauthenticated:
		return fmt.Sprintf("%s: the heartbeats of %s are not authenticated (%s)", node, peer, addrs)
	case notice.Unhealthy:
		return fmt.Sprintf("%s: %s reports its service unhealthy (%s)", node, peer, addrs)
	case notice.Healthy:
		return fmt.Sprintf("%s: %s reports its service healthy again (%s)", node, peer, addrs)
	case notice.TwoRuns:
		return fmt.Sprintf("%s: heartbeats of two heartbeatd runs from %s; the older run's are dropped as replays", node, peer)
	case notice.InterfaceMissing:
		return fmt.Sprintf("%s: interface %s is missing, so no takeover of %s can happen", node, orUnknown(e.Interface), addrs)
	case notice.InterfaceBack:
		return fmt.Sprintf("%s: interface %s is there again (%s)", node, orUnknown(e.Interface), addrs)
	case notice.ArbiterLost:
		return fmt.Sprintf("%s lost the arbiter's majority and removed %s", node, addrs)
	case notice.StandbyTie:
		return fmt.Sprintf("%s: another standby of %s has this host's priority (%s)", node, peer, addrs)
	default:
		return fmt.Sprintf("%s: %s for %s (primary %s)", node, orUnknown(string(e.Kind)), addrs, peer)
	}
}

// addressList names the public addresses without interface and mask, which
// the body lists in full; a long list is cut so the subject stays one line.
func (e Notice) addressList() string {
	const most = 3
	var names []string
	for i, a := range e.Addresses {
		if i == most {
			names = append(names, fmt.Sprintf("%d more", len(e.Addresses)-most))
			break
		}
		names = append(names, bareAddress(a))
	}
	switch len(names) {
	case 0:
		return "no address"
	case 1:
		return names[0]
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
}

// bareAddress turns "eth0:198.51.100.1/32" (or "eth0:2001:db8::1/128") into
// the address alone; anything it does not understand is shown as given.
func bareAddress(s string) string {
	for _, c := range []string{s, after(s, ":")} {
		if p, err := netip.ParsePrefix(c); err == nil {
			return p.Addr().String()
		}
		if a, err := netip.ParseAddr(c); err == nil {
			return a.String()
		}
	}
	return oneLine(s)
}

func after(s, sep string) string {
	_, rest, _ := strings.Cut(s, sep)
	return rest
}

// linkState says how a link was at the notice's time: heard within the
// timeout or silent, since when, a goodbye after the last heartbeat, a
// lost carrier (which no link is alive without), and packets of the
// primary's refused since its last heartbeat.
func linkState(l notice.Link, at time.Time) string {
	var s string
	switch alive := l.Alive && !l.NoCarrier; {
	case alive && l.LastHeard.IsZero():
		s = "alive"
	case alive:
		s = "alive, last heard " + stampBefore(l.LastHeard, at)
	case l.LastHeard.IsZero() && l.Refused != "":
		s = "silent, no packet accepted"
	case l.LastHeard.IsZero():
		s = "silent, never heard"
	default:
		s = "silent since " + stampBefore(l.LastHeard, at)
	}
	if !l.Goodbye.IsZero() {
		s += ", then a goodbye at " + stampBefore(l.Goodbye, at)
	}
	if l.NoCarrier {
		s += "; no carrier"
	}
	if l.Refusing() {
		s += "; " + l.Refused + ", the last at " + stampBefore(l.RefusedAt, at)
	}
	return s
}

// stampBefore is t, and how long before at it was when that is known.
func stampBefore(t, at time.Time) string {
	if at.IsZero() || at.Before(t) {
		return stamp(t)
	}
	return fmt.Sprintf("%s (%s before this event)", stamp(t), at.Sub(t).Round(time.Millisecond))
}

// when gives both forms: RFC 3339 to compare across hosts and logs, local
// time for the person reading the mail on this server's clock.
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return fmt.Sprintf("%s (%s local)", t.Format(time.RFC3339), t.Local().Format("Mon 2 Jan 2006 15:04:05 MST"))
}

func stamp(t time.Time) string { return t.Format(time.RFC3339Nano) }

func orUnknown(s string) string {
	if s = oneLine(s); s == "" {
		return "(unknown)"
	}
	return s
}

// oneLine keeps every value on its line: control characters and line or
// paragraph separators become spaces, invalid UTF-8 is replaced, so a hook
// name or a detail can neither forge a mail header nor break the layout.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		if breaksLine(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// breaksLine reports runes that end a line or hide in one (C0, DEL, C1
// including NEL, and the Unicode line and paragraph separators).
func breaksLine(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
