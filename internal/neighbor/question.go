package neighbor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Questioner asks who answers for addresses, each on its interface, and
// reports the answers from other hosts.
type Questioner interface {
	// AskAll asks once for each address and says for how many it
	// could; err tells why not for the others.
	AskAll(qs []Question) (asked int, err error)
	Run(ctx context.Context, answer func(Answer)) error
}

// AddressAsker is a Questioner over an Asker: it looks each address's
// interface up when it asks, again after a second (an interface may come
// and go), not at every question: after a goodbye the questions go out
// every few hundred microseconds.
type AddressAsker struct {
	Asker Asker
	// Lookup finds an interface by name; net.InterfaceByName when nil.
	Lookup func(name string) (*net.Interface, error)

	mu     sync.Mutex
	ifis   map[string]*net.Interface
	looked time.Time
}

var _ Questioner = (*AddressAsker)(nil)

// interfaceOf returns name's interface, looked up at most a second ago.
func (q *AddressAsker) interfaceOf(name string) (*net.Interface, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if time.Since(q.looked) >= time.Second {
		q.ifis, q.looked = map[string]*net.Interface{}, time.Now()
	}
	if ifi, ok := q.ifis[name]; ok {
		return ifi, nil
	}
	lookup := q.Lookup
	if lookup == nil {
		lookup = net.InterfaceByName
	}
	ifi, err := lookup(name)
	if err != nil {
		return nil, err
	}
	q.ifis[name] = ifi
	return ifi, nil
}

// AskAll asks once for each address; it returns how many it asked and
// every failure.
func (q *AddressAsker) AskAll(qs []Question) (int, error) {
	var errs []error
	asked := 0
	for _, a := range qs {
		ifi, err := q.interfaceOf(a.Interface)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := q.Asker.Ask(ifi, a.Addr); err != nil {
			errs = append(errs, err)
			continue
		}
		asked++
	}
	return asked, errors.Join(errs...)
}

// Watch has the Asker report answers for ip too.
func (q *AddressAsker) Watch(ip netip.Addr) error {
	w, ok := q.Asker.(Watcher)
	if !ok {
		return fmt.Errorf("hear answers for %s: %w", ip, errors.ErrUnsupported)
	}
	return w.Watch(ip)
}

// Drain has the Asker report the answers waiting unread, if it can.
func (q *AddressAsker) Drain() {
	if d, ok := q.Asker.(Drainer); ok {
		d.Drain()
	}
}

// Run passes the Asker's answers on until ctx ends.
func (q *AddressAsker) Run(ctx context.Context, answer func(Answer)) error {
	return q.Asker.Run(ctx, answer)
}

// AskRound asks for every address three times, a third of wait apart,
// and returns wait after the first question, or when ctx ends: an
// answer to any of them has arrived by then, through Run.
func AskRound(ctx context.Context, q Questioner, qs []Question, wait time.Duration) error {
	end := time.Now().Add(wait)
	var err error
	for i := range 3 {
		if i > 0 && !sleep(ctx, wait/3) {
			return ctx.Err()
		}
		_, e := q.AskAll(qs)
		err = errors.Join(err, e)
	}
	if !sleep(ctx, time.Until(end)) {
		return ctx.Err()
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
