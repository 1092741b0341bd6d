package monitor

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/linksock"
)

// Datagram is one UDP datagram as a heartbeat socket receives it: its
// bytes, the index of the interface it came in on and its source.
type Datagram struct {
	B       []byte
	IfIndex int
	From    netip.Addr
}

// inboxCap is how many datagrams an Inbox queues, as a socket's receive
// buffer holds a bounded number: more are dropped unseen.
const inboxCap = 4096

// Inbox is a heartbeat socket held in memory, for a simulation: what is
// put in it is read as a socket's datagrams are, by Run's reader and by
// Drain, through the same accept policy.
type Inbox struct {
	mu      sync.Mutex
	q       []Datagram
	wake    chan struct{}
	closed  bool
	stalled bool
}

// NewInbox returns an empty inbox.
func NewInbox() *Inbox { return &Inbox{wake: make(chan struct{}, 1)} }

// Put queues d; a full or closed inbox drops it.
func (in *Inbox) Put(d Datagram) {
	in.mu.Lock()
	if in.closed || len(in.q) >= inboxCap {
		in.mu.Unlock()
		return
	}
	in.q = append(in.q, d)
	in.mu.Unlock()
	in.signal()
}

// Stall stops the reader (on) or lets it go on (off), as a starved
// reader goroutine would: Drain still takes what waits.
func (in *Inbox) Stall(on bool) {
	in.mu.Lock()
	in.stalled = on
	in.mu.Unlock()
	in.signal()
}

func (in *Inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Close ends the reader; later datagrams are dropped.
func (in *Inbox) Close() error {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	in.signal()
	return nil
}

// take removes up to max datagrams; force takes them even while stalled.
func (in *Inbox) take(max int, force bool) (ds []Datagram, closed bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stalled && !force {
		return nil, in.closed
	}
	n := min(max, len(in.q))
	ds = in.q[:n:n]
	in.q = in.q[n:]
	return ds, in.closed
}

// loop is the inbox's linksock.ReadLoop: the datagrams queued at one wakeup are
// one batch.
func (in *Inbox) loop(each linksock.PacketFunc, done func()) error {
	for {
		ds, closed := in.take(inboxCap, false)
		if closed {
			return nil
		}
		for _, d := range ds {
			each(d.B, d.IfIndex, d.From)
		}
		if len(ds) > 0 {
			done()
			continue
		}
		<-in.wake
	}
}

// drain is Drain's for an inbox: at most max datagrams, in one batch.
func (in *Inbox) drain(each linksock.PacketFunc, done func(), max int, _ time.Time) (int, error) {
	ds, _ := in.take(max, true)
	for _, d := range ds {
		each(d.B, d.IfIndex, d.From)
	}
	done()
	return len(ds), nil
}

// Fed returns a monitor that reads in instead of sockets: the whole
// receive policy of Listen's monitor, for a simulation that hands it
// datagrams.
func Fed(cfg Config, log *slog.Logger, in *Inbox) *Monitor {
	m := newMonitor(cfg, log)
	m.socks = []*socket{{inbox: in}}
	return m
}
