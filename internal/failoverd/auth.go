package failoverd

import (
	"fmt"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// authQuiet is how long no packet of the primary's may disagree with the
// keys here before another that does is news again.
const authQuiet = time.Minute

// watchAuthLocked sends an unauthenticated notice when a packet of the
// primary's disagrees with the keys here (a key on one side only, or
// different keys): at the first, and again only after authQuiet without
// one.
func (d *Daemon) watchAuthLocked(h monitor.Heard) {
	s := h.Auth
	if !s.Mismatch() {
		return
	}
	news := d.authSeen.IsZero() || h.At.Sub(d.authSeen) > authQuiet
	d.authSeen = h.At
	if news {
		d.noticeLocked(notice.Unauthenticated, authProblem(s, h.Link), nil)
	}
}

// authProblem says what is wrong with s, a standing that is a mismatch,
// heard on link, and what to do.
func authProblem(s wire.Standing, link string) string {
	if s.Refused {
		return fmt.Sprintf("%s (on %s): the primary's packets count for nothing, so to failoverd it is silent; give both servers the same key (%s, see ipfailover(5))",
			s, link, config.KeyAuthKeyFile)
	}
	return fmt.Sprintf("%s (on %s): failoverd accepts the primary's heartbeats unchecked, so anyone on the links can speak for it; set %s here to the primary's key (see ipfailover(5))",
		s, link, config.KeyAuthKeyFile)
}

// linkAuth is how a link's last packet from the primary stood with the
// keys, for status; nil for none.
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
// authenticated: the keys here (keys), and what the links' last packets
// carried; a disagreement before an agreement, the latest first.
func authSummary(keys []uint32, stats map[string]monitor.LinkStats, links []string) string {
	var pick wire.Standing
	for _, l := range links {
		s := stats[l].Auth
		if s.State() != wire.AuthNone && (pick.State() == wire.AuthNone || (s.Mismatch() && !pick.Mismatch()) ||
			(s.Mismatch() == pick.Mismatch() && s.At.After(pick.At))) {
			pick = s
		}
	}
	var on []string
	for _, l := range links {
		if s := stats[l].Auth; s.State() == pick.State() && s.Signed == pick.Signed && s.KeyID == pick.KeyID {
			on = append(on, l)
		}
	}
	where := strings.Join(on, ", ")
	switch {
	case pick.Refused:
		return fmt.Sprintf("%s (on %s): give both servers the same key (%s)", pick, where, config.KeyAuthKeyFile)
	case pick.Mismatch():
		return fmt.Sprintf("NOT authenticated: no key here, %s in the packets (on %s): set %s to the primary's key", pick.InPackets(), where, config.KeyAuthKeyFile)
	case pick.State() == wire.AuthAuthenticated:
		return "authenticated with " + wire.KeyIDs(keys)
	case pick.State() == wire.AuthUnchecked:
		return fmt.Sprintf("not authenticated: no key on either server (%s)", config.KeyAuthKeyFile)
	case len(keys) > 0:
		return wire.KeyIDs(keys) + " here; nothing heard yet"
	}
	return fmt.Sprintf("not authenticated: no key here (%s); nothing heard yet", config.KeyAuthKeyFile)
}
