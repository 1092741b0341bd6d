package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/takeover"
)

// queue is an unbounded hand-off from the world (w.mu held) to a
// reader goroutine: put never blocks.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	wake   chan struct{}
	closed bool
}

func newQueue[T any]() *queue[T] { return &queue[T]{wake: make(chan struct{}, 1)} }

func (q *queue[T]) put(v T) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, v)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue[T]) takeAll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	v := q.items
	q.items = nil
	return v
}

func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue[T]) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// clock is failoverd's clock under synctest: Go's timers, not a timerfd;
// each expiry the daemon takes is counted (the promise of no spin). A
// frozen process takes its expiries when it thaws.
type clock struct {
	w  *World
	n  *node
	pr *proc
}

func (clock) Now() time.Time { return time.Now() }

func (c clock) NewTimer(first time.Duration) fdtimer.Timer {
	t := &countingTimer{Timer: fdtimer.NewGo(first, 0), c: make(chan time.Time), done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-t.done:
				return
			case at := <-t.Timer.C():
				c.pr.pass(&c.pr.frozen)
				c.w.mu.Lock()
				c.w.check.wokeLocked(c.n)
				c.w.mu.Unlock()
				select {
				case t.c <- at:
				case <-t.done:
					return
				}
			}
		}
	}()
	return t
}

// countingTimer hands on its timer's expiries, counting each.
type countingTimer struct {
	fdtimer.Timer
	c    chan time.Time
	done chan struct{}
	once sync.Once
}

func (t *countingTimer) C() <-chan time.Time { return t.c }

func (t *countingTimer) Stop() {
	t.Timer.Stop()
	t.once.Do(func() { close(t.done) })
}

// udpConn is heartbeatd's sending socket (heartbeat.Conn).
type udpConn struct{ pr *proc }

func (c udpConn) Send(b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) error {
	c.pr.host.w.sendUDP(c.pr, b, dst, ifindex, src)
	return nil
}

func (c udpConn) Close() error { return nil }

// datagram is one received UDP datagram.
type datagram struct {
	b       []byte
	from    netip.AddrPort
	ifindex int // the interface it arrived on (0: not told)
}

// packetConn is a socket bound to one address and port, for heartbeatd's
// listener of the secondary's messages.
type packetConn struct {
	q    *queue[datagram]
	addr netip.AddrPort
}

func (w *World) listenUDP(pr *proc, addr netip.AddrPort) *packetConn {
	c := &packetConn{q: newQueue[datagram](), addr: addr}
	w.mu.Lock()
	defer w.mu.Unlock()
	pr.host.socks = append(pr.host.socks, &sock{proc: pr, addr: addr.Addr(), port: addr.Port(),
		put: func(b []byte, _ int, from netip.AddrPort) { c.q.put(datagram{b: b, from: from}) }})
	return c
}

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		if items := c.q.takeAll(); len(items) > 0 {
			// One at a time: put the rest back in front.
			c.q.mu.Lock()
			c.q.items = append(items[1:], c.q.items...)
			c.q.mu.Unlock()
			if len(c.q.items) > 0 {
				select {
				case c.q.wake <- struct{}{}:
				default:
				}
			}
			n := copy(b, items[0].b)
			return n, net.UDPAddrFromAddrPort(items[0].from), nil
		}
		if c.q.isClosed() {
			return 0, nil, net.ErrClosed
		}
		<-c.q.wake
	}
}

func (c *packetConn) WriteTo([]byte, net.Addr) (int, error) {
	return 0, errors.New("sim: this socket only listens")
}
func (c *packetConn) Close() error                     { c.q.close(); return nil }
func (c *packetConn) LocalAddr() net.Addr              { return net.UDPAddrFromAddrPort(c.addr) }
func (c *packetConn) SetDeadline(time.Time) error      { return nil }
func (c *packetConn) SetReadDeadline(time.Time) error  { return nil }
func (c *packetConn) SetWriteDeadline(time.Time) error { return nil }

// asker is a host's ARP asker (neighbor.Asker).
type asker struct {
	pr      *proc
	watched map[netip.Addr]bool // w.mu
	q       *queue[neighbor.Answer]
	stalled bool // w.mu: Run reads nothing; Drain does
	failing bool // w.mu: the listening socket failed: Run returns an error, answers are lost

	callMu sync.Mutex // Run's and Drain's calls never overlap
	mu     sync.Mutex
	answer func(neighbor.Answer)
}

func (w *World) newAsker(pr *proc, ips ...netip.Addr) *asker {
	a := &asker{pr: pr, watched: map[netip.Addr]bool{}, q: newQueue[neighbor.Answer]()}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ip := range ips {
		a.watched[ip] = true
	}
	pr.host.askers = append(pr.host.askers, a)
	return a
}

func (a *asker) heardLocked(ans neighbor.Answer) {
	if a.pr.dead || a.failing || !a.watched[ans.Addr] {
		return
	}
	a.q.put(ans)
}

func (a *asker) AskAll(qs []neighbor.Question) (int, error) {
	a.pr.pass(&a.pr.frozen)
	// A starved asker is late to take the answers and count what it sent.
	defer a.pr.pass(&a.pr.starved, &a.pr.frozen)
	w := a.pr.host.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if a.pr.dead {
		return 0, net.ErrClosed
	}
	n := 0
	var errs []error
	for _, q := range qs {
		p := a.pr.host.port(q.Interface)
		if p == nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", q.Interface, takeover.ErrNoInterface))
			continue
		}
		n++
		w.arpAskLocked(p, q.Addr)
	}
	return n, errors.Join(errs...)
}

func (a *asker) Watch(ip netip.Addr) error {
	w := a.pr.host.w
	w.mu.Lock()
	defer w.mu.Unlock()
	a.watched[ip] = true
	return nil
}

func (a *asker) deliver(all []neighbor.Answer) {
	a.mu.Lock()
	f := a.answer
	a.mu.Unlock()
	if f == nil {
		return
	}
	a.pr.pass(&a.pr.frozen)
	a.callMu.Lock()
	defer a.callMu.Unlock()
	for _, ans := range all {
		if ans.Addr.IsValid() { // not a wake-up
			f(ans)
		}
	}
}

func (a *asker) Drain() { a.deliver(a.q.takeAll()) }

func (a *asker) Run(ctx context.Context, answer func(neighbor.Answer)) error {
	a.mu.Lock()
	a.answer = answer
	a.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { a.q.put(neighbor.Answer{}) })
	defer stop()
	w := a.pr.host.w
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if a.q.isClosed() {
			return nil
		}
		w.mu.Lock()
		stalled, failing := a.stalled, a.failing
		w.mu.Unlock()
		if failing {
			return errors.New("sim: the ARP socket failed")
		}
		if !stalled {
			a.deliver(a.q.takeAll())
		}
		<-a.q.wake
	}
}

func (a *asker) Close() error { a.q.close(); return nil }

// manager adds and removes a host's addresses (takeover.Manager).
type manager struct {
	h  *host
	pr *proc // a process that is gone changes nothing
}

var errGone = errors.New("sim: the process is gone")

func (m manager) Acquire(ctx context.Context, a takeover.Address) error {
	return m.AcquireAll(ctx, []takeover.Address{a})[0]
}

func (m manager) AcquireAll(_ context.Context, as []takeover.Address) []error {
	w := m.h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := make([]error, len(as))
	for i, a := range as {
		if m.pr.dead {
			errs[i] = errGone
			continue
		}
		p := m.h.port(a.Interface)
		if p == nil {
			errs[i] = fmt.Errorf("interface %s: %w", a.Interface, takeover.ErrNoInterface)
			continue
		}
		if !p.held[a.Addr()] {
			p.held[a.Addr()] = true
			w.tl.add("%s added %s", m.h.name, a)
			w.check.addedLocked(m.h, a.Addr())
		}
	}
	return errs
}

func (m manager) Release(_ context.Context, a takeover.Address) error {
	w := m.h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if m.pr.dead {
		return errGone
	}
	p := m.h.port(a.Interface)
	if p == nil {
		return fmt.Errorf("interface %s: %w", a.Interface, takeover.ErrNoInterface)
	}
	if p.held[a.Addr()] {
		delete(p.held, a.Addr())
		w.tl.add("%s removed %s", m.h.name, a)
		w.check.removedLocked(m.h, a.Addr())
	}
	return nil
}

func (m manager) Held(_ context.Context, set []takeover.Address) ([]takeover.Address, error) {
	w := m.h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []takeover.Address
	for _, a := range set {
		if p := m.h.port(a.Interface); p != nil && p.held[a.Addr()] {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m manager) Interface(name string) (*net.Interface, error) {
	p := m.h.port(name)
	if p == nil {
		return nil, fmt.Errorf("interface %s: %w", name, takeover.ErrNoInterface)
	}
	return &net.Interface{Index: p.index, Name: p.name, HardwareAddr: p.mac, Flags: net.FlagUp}, nil
}

// announcer sends gratuitous ARP for a process (neighbor.Announcer).
type announcer struct{ pr *proc }

func (a announcer) Announce(ifi *net.Interface, ip netip.Addr) error {
	w := a.pr.host.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if a.pr.dead {
		return net.ErrClosed
	}
	if p := a.pr.host.portIndex(ifi.Index); p != nil {
		w.arpTellLocked(p, ip, nil)
	}
	return nil
}

func (a announcer) Close() error { return nil }

// carrierWatch reports the host's carrier as failoverd's watch does:
// each link's at start, then every change, from its own goroutine, up
// to carrierDelay late.
func (w *World) carrierWatch(pr *proc) func(ctx context.Context, links []string, report func(string, bool)) error {
	h := pr.host
	return func(ctx context.Context, links []string, report func(string, bool)) error {
		type change struct {
			name string
			up   bool
			due  time.Time // when it is told: up to carrierDelay late
		}
		q := newQueue[change]()
		f := func(name string, up bool) {
			q.put(change{name, up, time.Now().Add(time.Duration(w.carrierRNG.Float64() * float64(w.carrierDelay)))})
		}
		w.mu.Lock()
		for _, l := range links {
			if p := h.port(l); p != nil {
				q.put(change{l, p.carrier(), time.Now()})
			}
		}
		h.carriers = append(h.carriers, f)
		idx := len(h.carriers) - 1
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			h.carriers[idx] = func(string, bool) {}
			w.mu.Unlock()
		}()
		stop := context.AfterFunc(ctx, q.close)
		defer stop()
		for {
			for _, c := range q.takeAll() {
				// In order: one told late holds back the next.
				if d := time.Until(c.due); d > 0 {
					time.Sleep(d)
				}
				pr.pass(&pr.frozen)
				if slices.Contains(links, c.name) {
					report(c.name, c.up)
				}
			}
			if q.isClosed() || ctx.Err() != nil {
				return nil
			}
			<-q.wake
		}
	}
}
