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

// ReleasedListener receives failoverd's `released` packets on the
// heartbeat port: the secondary gave the addresses back, so heartbeatd
// re-announces them at once instead of waiting for neighbours' caches to
// expire.
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
	return &ReleasedListener{conn: c, log: log, drops: map[wire.DropReason]uint64{}}, nil
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

// Run reads packets until ctx ends. Each valid `released` packet calls
// onReleased, at most once per second. keys gives the current keyring
// (it changes on reload).
func (l *ReleasedListener) Run(ctx context.Context, keys func() *wire.Keyring, onReleased func(from netip.Addr, p wire.Packet)) error {
	go func() { <-ctx.Done(); l.conn.Close() }()
	guard := wire.NewReplayGuard(0)
	buf := make([]byte, wire.MaxPacketLen+1)
	var last time.Time
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
		if p.Type != wire.Released {
			// Our own broadcast heartbeats loop back to this port:
			// not worth a word.
			continue
		}
		if err := guard.Check(&p, 0, time.Now()); err != nil {
			l.drop(wire.ReasonOf(err), from, err)
			continue
		}
		if now := time.Now(); now.Sub(last) >= minGap {
			last = now
			onReleased(from, p)
		} else {
			l.log.Debug("released again within a second; the re-announce under way covers it", "from", from)
		}
	}
}

// ServeReleased listens for `released` on addr (all addresses when
// invalid) and calls onReleased for each accepted one until ctx ends; the
// channel closes when it has stopped. A listener that cannot open is
// logged: the addresses are then re-announced only at start and on SIGHUP.
func ServeReleased(ctx context.Context, addr netip.Addr, port uint16, keys func() *wire.Keyring, log *slog.Logger, onReleased func(from netip.Addr, p wire.Packet)) <-chan struct{} {
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
		if err := l.Run(ctx, keys, onReleased); err != nil {
			log.Error("released listener stopped", "err", err)
		}
	}()
	return done
}
