package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// ReleasedListener receives failoverd's packets on the heartbeat port:
// `released` (the secondary gave the addresses back, so heartbeatd
// re-announces them at once instead of waiting for neighbours' caches to
// expire) and `holding` (the secondary holds them and hears this host,
// so heartbeatd removes its service addresses).
//
// Each names the epoch of this heartbeatd run it is meant for (see
// package wire). The replay guard is new at each start, and its
// freshness window would let a packet recorded in the run before
// through; the epoch does not: a packet naming another run is dropped
// (other-epoch). A released naming none, from a failoverd older than
// the field, is accepted (Service.ClaimReleased asks who answers before
// it adds); a holding must name one.
type ReleasedListener struct {
	conn net.PacketConn
	log  *slog.Logger

	mu    sync.Mutex
	drops map[wire.DropReason]uint64
}

// ListenReleased opens the listening socket on addr:port. failoverd sends
// `released` to the primary's private address, so that is the address to
// listen on: a socket bound to it does not also receive heartbeatd's own
// broadcasts, looped back by the kernel, as a wildcard socket would (that
// doubled the cost of every heartbeat). An invalid addr listens on every
// address.
func ListenReleased(addr netip.Addr, port uint16, log *slog.Logger) (*ReleasedListener, error) {
	network, hostport := "udp", fmt.Sprintf(":%d", port)
	if addr.IsValid() {
		network, hostport = "udp4", netip.AddrPortFrom(addr, port).String()
		if addr.Is6() {
			network = "udp6"
		}
	}
	c, err := net.ListenPacket(network, hostport)
	if err != nil {
		return nil, fmt.Errorf("listen for released on %s: %w", hostport, err)
	}
	return NewReleasedListener(c, log), nil
}

// NewReleasedListener listens on conn, a socket opened already (a
// simulation's); ReadFrom must report *net.UDPAddr sources.
func NewReleasedListener(conn net.PacketConn, log *slog.Logger) *ReleasedListener {
	return &ReleasedListener{conn: conn, log: log, drops: map[wire.DropReason]uint64{}}
}

// Close stops the listener.
func (l *ReleasedListener) Close() error { return l.conn.Close() }

func (l *ReleasedListener) drop(reason wire.DropReason, from netip.Addr, err error) {
	l.mu.Lock()
	l.drops[reason]++
	first := l.drops[reason] == 1
	l.mu.Unlock()
	level := slog.LevelDebug
	if first {
		level = slog.LevelWarn // say it once; the count keeps the rest
	}
	l.log.Log(context.Background(), level, "dropped packet", "reason", reason, "from", from, "err", err)
}

// minGap keeps a flood of packets from turning into a flood of ARP.
const minGap = time.Second

// FromSecondary is what heartbeatd does with the secondary's packets.
type FromSecondary struct {
	// Epoch is this heartbeatd's (Sender.Epoch): the one a packet must
	// name.
	Epoch    uint64
	Released func(from netip.Addr, p wire.Packet)
	Holding  func(from netip.Addr, p wire.Packet) // nil: holding is ignored
}

// Run reads packets until ctx ends. Each valid `released` calls
// on.Released, each valid `holding` on.Holding, each at most once per
// second. keys gives the current keyring (it changes on reload).
func (l *ReleasedListener) Run(ctx context.Context, keys func() *wire.Keyring, on FromSecondary) error {
	go func() { <-ctx.Done(); l.conn.Close() }()
	guard := wire.NewReplayGuard(0)
	buf := make([]byte, wire.MaxPacketLen+1)
	last := map[wire.Type]time.Time{}
	// released: the latest released accepted, after which a holding
	// sent before it (delivered late) is stale.
	var released struct {
		sender   string
		epoch    uint64
		seq      uint64
		accepted bool
	}
	for {
		n, src, err := l.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		from := src.(*net.UDPAddr).AddrPort().Addr().Unmap()
		p, err := keys().Open(buf[:n])
		if err != nil {
			l.drop(wire.ReasonOf(err), from, err)
			continue
		}
		handle := on.Released
		switch p.Type {
		case wire.Released:
		case wire.Holding:
			handle = on.Holding
		case wire.Standby:
			// A standby's announcement goes to the standby port: one
			// here was sent to this port on purpose, a recording.
			l.drop(wire.DropWrongType, from, fmt.Errorf("%w: a %s on the heartbeat port", wire.ErrWrongType, p.Type))
			continue
		default:
			// Our own broadcast heartbeats loop back to this port:
			// not worth a word.
			continue
		}
		if err := checkEpoch(p, on.Epoch); err != nil {
			l.drop(wire.ReasonOf(err), from, err)
			continue
		}
		if err := guard.Check(&p, 0, time.Now()); err != nil {
			l.drop(wire.ReasonOf(err), from, err)
			continue
		}
		if p.Type == wire.Released {
			released.sender, released.epoch, released.seq, released.accepted = p.Sender, p.Epoch, p.Seq, true
		} else if released.accepted && p.Sender == released.sender && p.Epoch == released.epoch && p.Seq < released.seq {
			l.log.Debug("holding sent before the secondary's latest released; ignored", "from", from)
			continue
		}
		if handle == nil {
			continue
		}
		if now := time.Now(); now.Sub(last[p.Type]) >= minGap {
			last[p.Type] = now
			handle(from, p)
		} else if p.Type == wire.Released {
			l.log.Debug("released again within a second; the re-announce under way covers it", "from", from)
		} else {
			l.log.Debug("holding again within a second; the removal under way covers it", "from", from)
		}
	}
}

// checkEpoch says whether p, a released or holding, is meant for this
// run of heartbeatd (epoch): it names it, or, a released only, names
// none (an older failoverd's).
func checkEpoch(p wire.Packet, epoch uint64) error {
	named, ok, err := wire.MessageEpoch(p.Message)
	switch {
	case err != nil:
		return err
	case !ok && p.Type == wire.Released:
		return nil
	case !ok:
		return fmt.Errorf("%w: the %s names no epoch", wire.ErrOtherEpoch, p.Type)
	case named != epoch:
		return fmt.Errorf("%w: the %s names %016x, this run is %016x", wire.ErrOtherEpoch, p.Type, named, epoch)
	}
	return nil
}

// ServeReleased listens for `released` and `holding` on addr (all
// addresses when invalid) and calls on's functions for each accepted one
// until ctx ends; the channel closes when it has stopped. A listener that
// cannot open is logged: the addresses are then re-announced only at
// start and on SIGHUP.
func ServeReleased(ctx context.Context, addr netip.Addr, port uint16, keys func() *wire.Keyring, log *slog.Logger, on FromSecondary) <-chan struct{} {
	done := make(chan struct{})
	l, err := ListenReleased(addr, port, log)
	if err != nil {
		close(done)
		log.Warn("will not hear the secondary's released message; addresses are re-announced only at start and on SIGHUP", "err", err)
		return done
	}
	go func() {
		defer close(done)
		defer l.Close()
		if err := l.Run(ctx, keys, on); err != nil {
			log.Error("released listener stopped", "err", err)
		}
	}()
	return done
}
