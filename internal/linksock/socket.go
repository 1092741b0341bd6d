package linksock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Config says which sockets to open.
type Config struct {
	Port  uint16
	Links []string // the links' interface names
	// Name names the port in messages ("heartbeat port").
	Name string
	// IPv6 opens an IPv6 socket beside each IPv4 one where the host (on
	// Linux, the link) has IPv6.
	IPv6 bool
	// Filter returns the kernel filter of one socket (Linux): v4 for an
	// IPv4 socket. exclude are the interfaces of the links that have
	// sockets of their own, whose packets the socket for every other
	// interface must drop: a filter starts with Exclude(exclude). nil:
	// Exclude alone.
	Filter func(exclude []uint32, v4 bool) ([]bpf.RawInstruction, error)
}

// Socket is one socket on the port: bound to one link's interface, or
// (Link "") the one for every other interface. Each packet read from
// it comes with its interface and source address.
type Socket struct {
	Conn net.PacketConn
	V4   *ipv4.PacketConn // nil on an IPv6 socket
	V6   *ipv6.PacketConn // nil on an IPv4 socket
	Link string           // the link it is bound to; "" for every other interface

	index atomic.Int64 // the index of Link's interface it is bound to (Linux)

	drainMu  sync.Mutex
	drainBuf *receiver // Drain's own, apart from the reader's
}

// NewSocket asks for each packet's interface and source address.
func NewSocket(c net.PacketConn, ipv6only bool) (*Socket, error) {
	s := &Socket{Conn: c}
	var err error
	if ipv6only {
		s.V6 = ipv6.NewPacketConn(c)
		err = s.V6.SetControlMessage(ipv6.FlagInterface|ipv6.FlagSrc, true)
	} else {
		s.V4 = ipv4.NewPacketConn(c)
		err = s.V4.SetControlMessage(ipv4.FlagInterface|ipv4.FlagSrc, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("ask for the interface of each packet: %w", err)
	}
	return s, nil
}

// PacketFunc takes one received packet: its bytes (valid only during the
// call), the index of the interface it came in on (0 when unknown), and
// its source address.
type PacketFunc func(b []byte, ifindex int, from netip.Addr)

// ReadLoop reads packets and hands each to each until the socket is
// closed or fails; after the packets of one read (one wakeup) it calls
// done.
type ReadLoop func(each PacketFunc, done func()) error

// ReadAll runs each of reads (a socket's reader) in a goroutine of its
// own and returns when all have returned: the first error of one. failed
// is told of each error, with the index of its reader, as it happens,
// while the others read on. An error once ctx ended, or net.ErrClosed,
// is none: the socket was closed to stop its reader.
func ReadAll(ctx context.Context, reads []func() error, failed func(i int, err error)) error {
	errs := make(chan error, len(reads))
	for i, read := range reads {
		go func() {
			err := read()
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				err = nil
			} else if err != nil {
				err = fmt.Errorf("read: %w", err)
				failed(i, err)
			}
			errs <- err
		}()
	}
	var first error
	for range reads {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// CloseAll closes socks.
func CloseAll(socks []*Socket) error {
	var errs []error
	for _, s := range socks {
		errs = append(errs, s.Conn.Close())
	}
	return errors.Join(errs...)
}
