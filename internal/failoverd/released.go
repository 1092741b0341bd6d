package failoverd

import (
	"net"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// Releaser sends one datagram to the primary.
type Releaser interface {
	Send(b []byte) error
}

// UDPPeer sends to the primary's heartbeat port from a socket of its own
// for each message: the heartbeat sockets may be closed already when
// failoverd gives back on its way out.
type UDPPeer struct{ To netip.AddrPort }

// Send writes b to the primary.
func (p UDPPeer) Send(b []byte) error {
	c, err := net.Dial("udp", p.To.String())
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(b)
	return err
}

// sendReleased tells the primary that this host gave the addresses back,
// so that it re-announces them at once.
func (d *Daemon) sendReleased() {
	d.sendMu.Lock()
	d.seq++
	p := wire.Packet{Type: wire.Released, Sender: d.cfg.Node, Epoch: d.epoch, Seq: d.seq, Interval: time.Second, SentAt: d.Clock.Now()}
	d.sendMu.Unlock()
	b, err := d.cfg.Keys().Seal(&p)
	if err == nil {
		err = d.Released.Send(b)
	}
	if err != nil {
		d.log.Warn("could not tell the primary the addresses are released; it re-announces them at its next start or SIGHUP", "err", err)
		return
	}
	d.log.Info("told the primary the addresses are released", "to", d.cfg.Peer)
}
