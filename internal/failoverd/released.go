package failoverd

import (
	"net"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Releaser sends one datagram to the primary: `released` and `holding`.
type Releaser interface {
	Send(b []byte) error
}

// UDPPeer sends to the primary's heartbeat port from a socket of its own
// for each message: the heartbeat sockets may be closed already when
// failoverd gives back on its way out.
type UDPPeer struct{ To netip.AddrPort }

// Send writes b to the primary. First it clears a kernel neighbour entry
// for the primary that is stuck resolving (neighbor.Unstick): `released`
// goes the moment the primary is heard back, often within a millisecond
// of its link's return, and an entry begun while the link was dark would
// hold it for up to a second. Where that cannot be done the datagram goes
// as it is.
func (p UDPPeer) Send(b []byte) error {
	_ = neighbor.Unstick(p.To.Addr())
	c, err := net.Dial("udp", p.To.String())
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(b)
	return err
}

// holdingEvery is how often, at most, `holding` is sent.
const holdingEvery = time.Second

// primaryHeard keeps the epoch of the primary's latest accepted
// heartbeat or goodbye among hs, which `released` and `holding` name,
// and says whether a heartbeat was among them.
func (d *Daemon) primaryHeard(hs []monitor.Heard) (beat bool) {
	for _, h := range hs {
		p := h.Packet
		if h.Legacy || (p.Type != wire.Heartbeat && p.Type != wire.Goodbye) {
			continue // the original's bare text has no epoch
		}
		d.sendMu.Lock()
		d.primaryEpoch, d.primaryKnown = p.Epoch, true
		d.sendMu.Unlock()
		beat = beat || p.Type == wire.Heartbeat
	}
	return beat
}

// tellHoldingLocked sends `holding` when this host holds the addresses (not
// giving them back) and has just heard the primary's heartbeat, at most
// once every holdingEvery. Under d.mu, no give-back starts, and no
// `released` goes, before it is sent: the primary never hears a holding
// sent after a released.
func (d *Daemon) tellHoldingLocked() {
	if st := d.machine.Status(d.Clock.Now()); !st.Holding || st.State == failover.Releasing || len(d.Mover.Holding()) == 0 {
		return
	}
	now := d.Clock.Now()
	if !d.lastHolding.IsZero() && now.Sub(d.lastHolding) < holdingEvery {
		return
	}
	p, ok := d.packet(wire.Holding)
	if !ok {
		return // no epoch heard: the primary would drop it
	}
	d.lastHolding = now
	if err := d.send(p); err != nil {
		d.log.Warn("could not tell the primary this host holds the addresses", "err", err)
		return
	}
	d.log.Debug("told the primary this host holds the addresses", "to", d.cfg.Peer, "primary_epoch", p.Message)
}

// packet builds the next packet of typ to the primary, naming the
// primary's epoch last heard; ok is false when none was heard and typ
// needs one (holding).
func (d *Daemon) packet(typ wire.Type) (p wire.Packet, ok bool) {
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	msg := ""
	if d.primaryKnown {
		msg = wire.EpochMessage(d.primaryEpoch)
	} else if typ == wire.Holding {
		return p, false
	}
	d.seq++
	return wire.Packet{Type: typ, Sender: d.cfg.Node, Epoch: d.epoch, Seq: d.seq, Interval: time.Second,
		SentAt: d.Clock.Now(), Message: msg}, true
}

// send seals p and sends it to the primary.
func (d *Daemon) send(p wire.Packet) error {
	b, err := d.cfg.Keys().Seal(&p)
	if err != nil {
		return err
	}
	return d.Released.Send(b)
}

// sendReleased tells the primary that this host gave the addresses back,
// so that it re-announces them at once. It names the primary's epoch
// last heard (none if none was heard: the primary then accepts it as an
// older failoverd's).
func (d *Daemon) sendReleased() {
	p, _ := d.packet(wire.Released)
	if err := d.send(p); err != nil {
		d.log.Warn("could not tell the primary the addresses are released; it re-announces them at its next start or SIGHUP", "err", err)
		return
	}
	d.log.Info("told the primary the addresses are released", "to", d.cfg.Peer, "primary_epoch", p.Message)
}
