package monitor

import (
	"net/netip"
	"slices"
	"time"
)

// linkPeers is what a link's kernel filter passes besides Config.Peers
// (the package doc's "The kernel's filter").
type linkPeers struct {
	learned netip.Addr // the last accepted source not in Config.Peers
	open    bool       // PeerNets pass
}

// silentIntervals is how many of the primary's intervals a link must
// miss, while another link hears it, for its subnets to pass again.
const silentIntervals = 10

// admittedLocked returns what link's filter passes.
func (m *Monitor) admittedLocked(link string) []netip.Prefix {
	lp := m.linkPeersLocked(link)
	var out []netip.Prefix
	if lp.open {
		out = slices.Clone(m.cfg.PeerNets)
	}
	for _, a := range m.cfg.Peers {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if lp.learned.IsValid() {
		out = append(out, netip.PrefixFrom(lp.learned, lp.learned.BitLen()))
	}
	return out
}

// linkPeersLocked returns link's state, made open at first.
func (m *Monitor) linkPeersLocked(link string) *linkPeers {
	if m.peers == nil {
		m.peers = map[string]*linkPeers{}
	}
	lp, ok := m.peers[link]
	if !ok {
		lp = &linkPeers{open: true}
		m.peers[link] = lp
	}
	return lp
}

// heardLocked updates the filters after a packet accepted on link from
// from: named when from is one of Config.Peers, newEpoch when it named a
// sender or epoch not vouched for before.
func (m *Monitor) heardLocked(link string, from netip.Addr, named, newEpoch bool, interval time.Duration, now time.Time) {
	if len(m.cfg.PeerNets) == 0 {
		return // nothing but the primary's own addresses passes anyway
	}
	if newEpoch {
		for _, l := range m.cfg.Links {
			if l != link {
				m.setOpenLocked(l, "a new epoch from the primary's own address")
			}
		}
	}
	if interval > 0 {
		// A link never heard is silent too: its filter is open already.
		for _, l := range m.cfg.Links {
			if l != link && now.Sub(m.stats[l].LastHeard) > silentIntervals*interval {
				m.setOpenLocked(l, "silent while another link hears the primary")
			}
		}
	}
	lp := m.linkPeersLocked(link)
	changed := lp.open
	lp.open = false
	if !named && from != lp.learned {
		lp.learned = from
		changed = true
		m.log.Info("the primary's heartbeats come from an address of the link's subnet: the kernel's filter passes it, and no more of the subnet", "link", link, "from", from)
	}
	if changed {
		m.refilterLocked(link, "heard")
	}
}

// setOpenLocked opens link's filter to its subnets.
func (m *Monitor) setOpenLocked(link string, why string) {
	if lp := m.linkPeersLocked(link); !lp.open {
		lp.open = true
		m.refilterLocked(link, why)
	}
}

// refilterLocked replaces link's filter with one that passes what
// admittedLocked says.
func (m *Monitor) refilterLocked(link, why string) {
	peers := m.admittedLocked(link)
	for _, s := range m.socks {
		if s.Socket == nil || s.Link != link || s.V4 == nil {
			continue
		}
		if err := s.admit(peers, !m.cfg.Legacy); err != nil {
			m.log.Warn("cannot replace the heartbeat filter of a link", "link", link, "err", err)
			continue
		}
		m.log.Debug("heartbeat filter replaced", "link", link, "why", why, "passes", peers)
	}
}
