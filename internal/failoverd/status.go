package failoverd

import (
	"cmp"
	"slices"
	"strings"

	"github.com/ipfailover/ipfailover/internal/control"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// stageOrder sorts a job's stages in the order they run.
var stageOrder = map[hooks.Stage]int{hooks.Test: 0, hooks.PreAcq: 1, hooks.PostAcq: 2, hooks.PreRel: 3, hooks.PostRel: 4}

// Status is failoverd's state as failoverctl status shows it.
func (d *Daemon) Status() control.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

// statusLocked is Status under the lock Status takes.
func (d *Daemon) statusLocked() control.Status {
	now := d.Clock.Now()
	ms := d.machine.Status(now)
	stats := d.Source.Stats()
	heard := d.heardLocked(now)
	st := control.Status{Node: d.cfg.Node, State: ms.State, Since: ms.Since, Holding: ms.Holding,
		Peer: d.cfg.Peer.String(), PeerInterval: ms.PeerInterval, Timeout: ms.Timeout}
	for _, l := range ms.Links {
		s := stats[l.Name]
		st.Links = append(st.Links, control.Link{Link: l, Received: s.Received, Dropped: s.Dropped, Auth: linkAuth(linkStanding(s, heard))})
		if m := d.missing[l.Name]; m != nil {
			st.Links[len(st.Links)-1].Missing, st.Links[len(st.Links)-1].MissingSince = true, m.since
		}
		if s.Epoch != 0 && !s.LastHeard.Before(l.LastHeard) {
			st.PeerEpoch, st.PeerName = s.Epoch, s.Sender
		}
	}
	st.OtherDropped = stats[monitor.Unknown].Dropped
	keys := d.cfg.Keys().IDs()
	st.KeyIDs = []string{}
	for _, id := range keys {
		st.KeyIDs = append(st.KeyIDs, wire.FormatKeyID(id))
	}
	st.Authentication = authSummary(keys, stats, d.cfg.Machine.Links, heard, now, ms.Timeout)
	held := d.Mover.Holding()
	for _, a := range d.cfg.Addresses {
		st.Addresses = append(st.Addresses, control.Address{Address: a.String(), Held: slices.Contains(held, a)})
	}
	st.AskEvery = d.askEvery
	st.PrimaryHealth = ms.Health
	st.Answering = ms.Answering
	if d.Standbys != nil {
		st.Priority, st.Standbys = d.cfg.Priority, d.standbysStatusLocked(now)
	}
	st.Yielding = ms.Yielding
	if d.Arbiter != nil {
		a := d.Arbiter.Status()
		st.Arbiter = &a
	}
	for _, s := range d.stages {
		st.Stages = append(st.Stages, s)
	}
	slices.SortFunc(st.Stages, func(a, b control.Stage) int {
		return cmp.Or(strings.Compare(a.Address, b.Address), stageOrder[a.Stage]-stageOrder[b.Stage])
	})
	return st
}
