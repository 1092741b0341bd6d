package failoverd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// How often a mismatch is told: one of a kind is news when none of that
// kind came for its quiet period, which is authQuiet at first and
// doubles each time one is told, up to authQuietMost; a kind not seen
// for authForget starts over. News waits while another notice of a
// mismatch went out within authQuiet. A primary whose key differs is
// told once however long it lasts, a mismatch after a day without one
// always, and someone who sends a forged packet each time a quiet period
// ends sets no rate of mails: a dozen for each kind in the first day,
// then one a day at most.
const (
	authQuiet     = time.Minute
	authQuietMost = 24 * time.Hour
	authForget    = 7 * 24 * time.Hour
)

// authKind is a kind of mismatch as the notices tell them apart: what
// the packet had against the keys here. The key id in the packet is not
// part of it: a sender chooses it freely, and a new one is no news.
type authKind struct {
	refused, signed, ours bool
	keys                  string // the keys here: a reload that changes them starts over
}

// authSeen is what failoverd remembers of one kind of mismatch.
type authSeen struct {
	last  time.Time     // when one last came
	quiet time.Duration // how long none must come before one is news
}

// news says whether a mismatch of this kind at at is news.
func (a *authSeen) news(at time.Time) bool { return a.last.IsZero() || at.Sub(a.last) > a.quiet }

// seen notes a mismatch of this kind at at, told (and so news) or not.
func (a *authSeen) seen(at time.Time, told bool) {
	switch {
	case a.last.IsZero() || at.Sub(a.last) > authForget:
		a.quiet = authQuiet
	case told:
		a.quiet = min(2*a.quiet, authQuietMost)
	}
	a.last = at
}

// heardLocked says the primary counts as heard at at: one of its
// heartbeats came within the timeout before. A packet refused from its
// addresses then is refused beside its heartbeats: forged, replayed, or
// from a second sender, not the primary's key.
func (d *Daemon) heardLocked(at time.Time) bool {
	last, timeout := d.machine.Heard()
	return !last.IsZero() && at.Sub(last) <= timeout
}

// Heard says the primary counts as heard now (heardLocked).
func (d *Daemon) Heard() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.heardLocked(d.Clock.Now())
}

// watchAuthLocked sends an unauthenticated notice when a packet of the
// primary's disagrees with the keys here (a key on one side only, or
// different keys), when that is news (authSeen). A refused packet says
// so only once packets were refused for a timeout with no heartbeat
// (beside: one came within the timeout before it): beside the primary's
// heartbeats, or before the first of a run, it says nothing of the
// keys.
func (d *Daemon) watchAuthLocked(h monitor.Heard, beside bool) {
	s := h.Auth
	if !s.Mismatch() {
		return
	}
	if s.Refused {
		if beside {
			return
		}
		last, timeout := d.machine.Heard()
		if d.authRefused.IsZero() || d.authRefused.Before(last) {
			d.authRefused = h.At // the first since the last heartbeat
		}
		if h.At.Sub(d.authRefused) < timeout {
			return
		}
	}
	k := authKind{refused: s.Refused, signed: s.Signed, ours: s.Signed && slices.Contains(s.Keys, s.KeyID), keys: wire.KeyIDs(s.Keys)}
	if d.authSeen == nil {
		d.authSeen = map[authKind]*authSeen{}
	}
	a := d.authSeen[k]
	if a == nil {
		a = &authSeen{}
		d.authSeen[k] = a
	}
	switch {
	case !a.news(h.At):
		a.seen(h.At, false)
		return
	case !d.authTold.IsZero() && h.At.Sub(d.authTold) < authQuiet:
		return // news, after the one told last: it stays news
	}
	a.seen(h.At, true)
	d.authTold = h.At
	agreed := false
	for _, st := range d.Source.Stats() {
		agreed = agreed || st.Accepted.State() == wire.AuthAuthenticated
	}
	d.noticeLocked(notice.Unauthenticated, authProblem(s, h.Link, agreed), nil)
}

// authProblem says what is wrong with s, a standing that is a mismatch,
// heard on link, and what to do; agreed: heartbeats of the primary's
// were authenticated here before, so its key may have changed, or
// someone forges its address.
func authProblem(s wire.Standing, link string, agreed bool) string {
	switch {
	case s.Refused && agreed:
		return fmt.Sprintf("%s (on %s), after heartbeats authenticated here: the primary's key changed since, or someone forges its address, and its heartbeats stopped; to failoverd it is silent. If its key changed, give both servers the same key (%s, see ipfailover(5))",
			s, link, config.KeyAuthKeyFile)
	case s.Refused:
		return fmt.Sprintf("%s (on %s): the primary's packets count for nothing, so to failoverd it is silent; give both servers the same key (%s, see ipfailover(5))",
			s, link, config.KeyAuthKeyFile)
	}
	return fmt.Sprintf("%s (on %s): failoverd accepts the primary's heartbeats unchecked, so anyone on the links can speak for it; set %s here to the primary's key (see ipfailover(5))",
		s, link, config.KeyAuthKeyFile)
}

// besideWhy says what packets refused for s beside the primary's
// authenticated heartbeats may be, and on which links when on names any.
func besideWhy(s wire.Standing, on ...string) string {
	where := ""
	if len(on) > 0 {
		where = "on " + strings.Join(on, ", ") + ": "
	}
	return fmt.Sprintf("packets from the primary's addresses that fail authentication beside its authenticated heartbeats (%s%s): forged, replayed, or a second sender", where, s.Sides())
}

// linkStanding is how a link's packets stand with the keys, as status
// and the metrics show it: that of its last packet, but while the
// primary is heard (heardLocked), that of its last heartbeat: packets
// refused beside the heartbeats are not the primary's standing.
func linkStanding(s monitor.LinkStats, heard bool) wire.Standing {
	if heard {
		return s.Accepted
	}
	return s.Auth
}

// linkAuth is how a link's packets stood with the keys, for status; nil
// for none.
func linkAuth(s wire.Standing) *control.LinkAuth {
	if s.State() == wire.AuthNone {
		return nil
	}
	a := &control.LinkAuth{State: s.State(), Signed: s.Signed, Detail: s.String(), At: s.At}
	if s.Signed {
		a.KeyID = wire.FormatKeyID(s.KeyID)
	}
	return a
}

// authSummary says in one sentence whether the primary's heartbeats are
// authenticated: the keys here (keys), and how the links' packets stand
// (linkStanding: heard says the primary is); a disagreement before an
// agreement, the latest first. While the primary is heard, packets
// refused within the timeout before now are told after it, as what they
// may be.
func authSummary(keys []uint32, stats map[string]monitor.LinkStats, links []string, heard bool, now time.Time, timeout time.Duration) string {
	var pick wire.Standing
	for _, l := range links {
		s := linkStanding(stats[l], heard)
		if s.State() != wire.AuthNone && (pick.State() == wire.AuthNone || (s.Mismatch() && !pick.Mismatch()) ||
			(s.Mismatch() == pick.Mismatch() && s.At.After(pick.At))) {
			pick = s
		}
	}
	var on []string
	for _, l := range links {
		if s := linkStanding(stats[l], heard); s.State() == pick.State() && s.Signed == pick.Signed && s.KeyID == pick.KeyID {
			on = append(on, l)
		}
	}
	where := strings.Join(on, ", ")
	var says string
	switch {
	case pick.Refused:
		says = fmt.Sprintf("%s (on %s): give both servers the same key (%s)", pick, where, config.KeyAuthKeyFile)
	case pick.Mismatch():
		says = fmt.Sprintf("NOT authenticated: no key here, %s in the packets (on %s): set %s to the primary's key", pick.InPackets(), where, config.KeyAuthKeyFile)
	case pick.State() == wire.AuthAuthenticated:
		says = "authenticated with " + wire.KeyIDs(keys)
	case pick.State() == wire.AuthUnchecked:
		says = fmt.Sprintf("not authenticated: no key on either server (%s)", config.KeyAuthKeyFile)
	case len(keys) > 0:
		says = wire.KeyIDs(keys) + " here; nothing heard yet"
	default:
		says = fmt.Sprintf("not authenticated: no key here (%s); nothing heard yet", config.KeyAuthKeyFile)
	}
	if !heard {
		return says
	}
	var refused wire.Standing
	on = nil
	for _, l := range links {
		if r := stats[l].Refused; !r.At.IsZero() && now.Sub(r.At) <= timeout {
			on = append(on, l)
			if r.At.After(refused.At) {
				refused = r
			}
		}
	}
	if len(on) == 0 {
		return says
	}
	return says + "; " + besideWhy(refused, on...)
}
