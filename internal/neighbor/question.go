package neighbor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// interfaces looks an interface up by name when a question names it,
// again after a second (an interface may come and go), not at every
// question: after a goodbye the questions go out every few hundred
// microseconds.
type interfaces struct {
	// lookup finds an interface by name; net.InterfaceByName when nil.
	lookup func(name string) (*net.Interface, error)

	mu     sync.Mutex
	ifis   map[string]*net.Interface
	looked time.Time
}

// of returns name's interface, looked up at most a second ago.
func (c *interfaces) of(name string) (*net.Interface, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.looked) >= time.Second {
		c.ifis, c.looked = map[string]*net.Interface{}, time.Now()
	}
	if ifi, ok := c.ifis[name]; ok {
		return ifi, nil
	}
	lookup := c.lookup
	if lookup == nil {
		lookup = net.InterfaceByName
	}
	ifi, err := lookup(name)
	if err != nil {
		return nil, err
	}
	c.ifis[name] = ifi
	return ifi, nil
}

// askAll asks each question on its interface with ask; it returns how
// many it asked and every failure.
func (c *interfaces) askAll(qs []Question, ask func(ifi *net.Interface, ip netip.Addr) error) (int, error) {
	var errs []error
	asked := 0
	for _, q := range qs {
		ifi, err := c.of(q.Interface)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := ask(ifi, q.Addr); err != nil {
			errs = append(errs, err)
			continue
		}
		asked++
	}
	return asked, errors.Join(errs...)
}

// AskRound asks every question three times, a third of wait apart, and
// returns wait after the first, or when ctx ends: an answer to any of
// them has arrived by then, through Run.
func AskRound(ctx context.Context, q Asker, qs []Question, wait time.Duration) error {
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
