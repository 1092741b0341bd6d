package failoverd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/notice"
)

// Interfaces lists the names of the host's interfaces now (netif.Names).
type Interfaces func() ([]string, error)

// ifacesEvery is how often the links' interfaces are looked for.
const ifacesEvery = time.Second

// missingLink is a link whose interface does not exist.
type missingLink struct {
	since   time.Time
	noticed bool // its interface-missing notice went out
}

// watchInterfaces looks for the links' interfaces at once and then every
// ifacesEvery, until ctx ends. A wrong name in the pairs, or an interface
// gone, leaves failoverd unable to hear the primary there or to take an
// address there, with only a log line at each question: past the start's
// grace (an interface may come up after failoverd at boot) it is a notice,
// once, and another when the interface is there again.
func (d *Daemon) watchInterfaces(ctx context.Context) {
	t := time.NewTicker(ifacesEvery)
	defer t.Stop()
	var warned time.Time
	for {
		names, err := d.Interfaces()
		if err != nil {
			if now := time.Now(); now.Sub(warned) >= time.Minute {
				warned = now
				d.log.Warn("cannot list the interfaces to look for the links'", "err", err)
			}
		} else {
			d.mu.Lock()
			d.lookForInterfacesLocked(names)
			d.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lookForInterfacesLocked compares the links with the interfaces named.
func (d *Daemon) lookForInterfacesLocked(names []string) {
	now := d.Clock.Now()
	graceOver := !now.Before(d.started.Add(d.cfg.Machine.InitialGrace))
	for _, link := range d.ifaceLinks() {
		m := d.missing[link]
		if slices.Contains(names, link) {
			if m == nil {
				continue
			}
			delete(d.missing, link)
			if !m.noticed {
				d.log.Info("the link's interface is there now", "link", link)
				continue
			}
			ev := d.newNoticeLocked(notice.InterfaceBack, fmt.Sprintf("interface %s is there again, after %s missing: %s",
				link, now.Sub(m.since).Round(time.Second), d.ifaceRole(link, "heartbeats are heard on it again", "can be taken on it again")), nil)
			ev.Interface = link
			d.sendNoticeLocked(ev)
			continue
		}
		if m == nil {
			m = &missingLink{since: now}
			d.missing[link] = m
			d.log.Warn("the link's interface does not exist", "link", link)
		}
		if m.noticed || !graceOver {
			continue
		}
		m.noticed = true
		ev := d.newNoticeLocked(notice.InterfaceMissing, fmt.Sprintf("interface %s does not exist (missing since %s): %s; "+
			"if the name is wrong, correct %s (failoverd -n checks it) and restart failoverd; an interface that appears is used at once",
			link, m.since.Format(time.RFC3339), d.ifaceRole(link, "no heartbeat can be heard on it", "cannot be taken on it, so no takeover can happen"), config.KeyPairs), nil)
		ev.Interface = link
		d.sendNoticeLocked(ev)
	}
}

// ifaceLinks are the interfaces failoverd needs: the links, and the
// interfaces the addresses are taken on.
func (d *Daemon) ifaceLinks() []string {
	out := slices.Clone(d.cfg.Machine.Links)
	for _, l := range d.cfg.Machine.AddrLinks {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// ifaceRole says what link's interface is for: heard, where heartbeats
// are expected on it, and taken, where addresses are taken on it, each
// said of it.
func (d *Daemon) ifaceRole(link, heard, taken string) string {
	var parts []string
	if slices.Contains(d.cfg.Machine.Links, link) {
		parts = append(parts, heard)
	}
	var addrs []string
	for _, a := range d.cfg.Addresses {
		if a.Interface == link {
			addrs = append(addrs, a.Addr().String())
		}
	}
	if len(addrs) > 0 {
		parts = append(parts, strings.Join(addrs, ", ")+" "+taken)
	}
	return strings.Join(parts, ", and ")
}
