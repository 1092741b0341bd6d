package lab

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Serve answers every UDP datagram to port in ns with name: the "small
// service" on each server, so a client can tell who answered.
func Serve(t testing.TB, ns *NS, port int, name string) {
	t.Helper()
	c := ns.ListenUDP(t, port)
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo([]byte(name), from)
		}
	}()
}

// Reply is one reply the client got.
type Reply struct {
	At   time.Time
	From string // the name in the reply
}

// Probe is a client asking target:port every interval, as a user's
// traffic would, and keeping the replies.
type Probe struct {
	conn    net.PacketConn
	started time.Time
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	replies []Reply
}

// StartProbe starts asking from ns.
func StartProbe(t testing.TB, ns *NS, target string, port int, every time.Duration) *Probe {
	t.Helper()
	p := &Probe{conn: ns.ListenUDP(t, 0), started: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	to := &net.UDPAddr{IP: net.ParseIP(target), Port: port}
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := p.conn.ReadFrom(buf)
			if err != nil {
				close(p.done)
				return
			}
			p.mu.Lock()
			p.replies = append(p.replies, Reply{At: time.Now(), From: string(buf[:n])})
			p.mu.Unlock()
		}
	}()
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			_, _ = p.conn.WriteTo([]byte("?"), to)
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop ends the probe.
func (p *Probe) Stop() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.conn.Close()
	<-p.done
}

// Replies returns the replies so far.
func (p *Probe) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Reply(nil), p.replies...)
}

// Last is the most recent reply's sender, or "".
func (p *Probe) Last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.replies) == 0 {
		return ""
	}
	return p.replies[len(p.replies)-1].From
}

// LongestGap is the longest time without a reply between since and
// until, and when it began: the outage as the client saw it.
func (p *Probe) LongestGap(since, until time.Time) (gap time.Duration, from time.Time) {
	prev := since
	for _, a := range p.Replies() {
		if a.At.Before(since) || a.At.After(until) {
			continue
		}
		if d := a.At.Sub(prev); d > gap {
			gap, from = d, prev
		}
		prev = a.At
	}
	if d := until.Sub(prev); d > gap {
		gap, from = d, prev
	}
	return gap, from
}
