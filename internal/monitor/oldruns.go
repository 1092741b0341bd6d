package monitor

import (
	"net/netip"
	"slices"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// OldRun is a heartbeat, from one of the primary's own addresses, of a
// run of its heartbeatd (an epoch) that a newer run replaced, signed as
// sent after the latest packet of the newer one: the older run did not
// end. Two heartbeatd send for the primary at once, or a recording of
// such a time is replayed. The replay guard drops it as it drops every
// packet of a replaced run; when the newer run stops, failoverd hears
// nothing of the older one that goes on.
type OldRun struct {
	Link    string
	From    netip.Addr
	Sender  string
	Epoch   uint64 // the older run's
	Current uint64 // the run that replaced it
	At      time.Time
}

type runKey struct {
	sender string
	epoch  uint64
}

// maxTold bounds the runs remembered as told of (as many as the guard
// remembers replaced), and the reports waiting to be read.
const maxTold = 16

// OldRuns receives each OldRun once per run (and once more after more
// than maxTold others). Reports that the reader leaves waiting past
// maxTold are dropped, and told of again at the run's next packet.
func (m *Monitor) OldRuns() <-chan OldRun { return m.oldRuns }

// oldRunLocked tells of p, of a run the guard replaced, when it was sent
// after the latest packet accepted of the run that replaced it. A packet
// of the older run sent before that (one overtaken on the way at a
// restart, or a recording of the older run alone) is no sign that it
// goes on.
func (m *Monitor) oldRunLocked(link string, from netip.Addr, p wire.Packet, now time.Time) {
	current, latest, ok := m.guard.Current(p.Sender)
	key := runKey{p.Sender, p.Epoch}
	if !ok || !p.SentAt.After(latest) || slices.Contains(m.told, key) {
		return
	}
	select {
	case m.oldRuns <- OldRun{Link: link, From: from, Sender: p.Sender, Epoch: p.Epoch, Current: current, At: now}:
		m.told = append(m.told, key)
		m.told = m.told[max(0, len(m.told)-maxTold):]
	default:
	}
}
