package neighbor

import (
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
