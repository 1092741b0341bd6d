package takeover

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// Fake is an in-memory Manager and Announcer for other packages' tests.
// It records every call; Fail makes the next calls for an address fail.
type Fake struct {
	mu        sync.Mutex
	held      map[netip.Addr]Address
	announced []Address
	calls     []string
	fail      map[netip.Addr]error
}

var (
	_ Manager            = (*Fake)(nil)
	_ neighbor.Announcer = (*Fake)(nil)
)

// NewFake returns a Fake that holds nothing.
func NewFake() *Fake {
	return &Fake{held: map[netip.Addr]Address{}, fail: map[netip.Addr]error{}}
}

// Fail makes operations on ip return err until Fail(ip, nil).
func (f *Fake) Fail(ip netip.Addr, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[ip] = err
}

// Acquire records a as held.
func (f *Fake) Acquire(_ context.Context, a Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "acquire "+a.String())
	if err := f.fail[a.Addr()]; err != nil {
		return err
	}
	f.held[a.Addr()] = a
	return nil
}

// AcquireAll records each address as held.
func (f *Fake) AcquireAll(ctx context.Context, as []Address) []error { return acquireEach(ctx, f, as) }

// Release forgets a.
func (f *Fake) Release(_ context.Context, a Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "release "+a.String())
	if err := f.fail[a.Addr()]; err != nil {
		return err
	}
	delete(f.held, a.Addr())
	return nil
}

// Held returns those of set the fake holds on the named interface.
func (f *Fake) Held(_ context.Context, set []Address) ([]Address, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Address
	for _, a := range set {
		if h, ok := f.held[a.Addr()]; ok && h.Interface == a.Interface {
			out = append(out, a)
		}
	}
	return out, nil
}

// Interface returns a made-up Ethernet interface; the name eth9 does not
// exist.
func (f *Fake) Interface(name string) (*net.Interface, error) {
	if name == "eth9" {
		return nil, noInterface(name)
	}
	return &net.Interface{Name: name, Index: 2, Flags: net.FlagUp, HardwareAddr: net.HardwareAddr{2, 0, 0x5e, 0, 0, 1}}, nil
}

// Announce records an announcement.
func (f *Fake) Announce(ifi *net.Interface, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "announce "+ifi.Name+":"+ip.String())
	if err := f.fail[ip]; err != nil {
		return err
	}
	f.announced = append(f.announced, Address{Interface: ifi.Name, Prefix: netip.PrefixFrom(ip, ip.BitLen())})
	return nil
}

// Close does nothing.
func (f *Fake) Close() error { return nil }

// Drop removes a behind the manager's back, as `ip addr flush` would.
func (f *Fake) Drop(ip netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.held, ip)
}

// Calls returns and clears the calls recorded so far.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}
