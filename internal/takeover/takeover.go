package takeover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/ipfailover/ipfailover/internal/neighbor"
)

// Address is a public address as installed on an interface: Prefix holds
// the address and the prefix length it is installed with.
type Address struct {
	Interface string
	Prefix    netip.Prefix
}

func (a Address) String() string { return a.Interface + ":" + a.Prefix.String() }

// Addr is the bare IP address.
func (a Address) Addr() netip.Addr { return a.Prefix.Addr() }

// Questions are the questions that ask who answers for each of as, on
// its interface.
func Questions(as []Address) []neighbor.Question {
	qs := make([]neighbor.Question, len(as))
	for i, a := range as {
		qs[i] = neighbor.Question{Interface: a.Interface, Addr: a.Addr()}
	}
	return qs
}

// Manager adds and removes addresses on this host's interfaces. Both
// operations are idempotent: acquiring an address already held, or
// releasing one that is absent, succeeds.
type Manager interface {
	Acquire(ctx context.Context, a Address) error
	// AcquireAll is Acquire for each address; errs[i] is as[i]'s.
	AcquireAll(ctx context.Context, as []Address) (errs []error)
	Release(ctx context.Context, a Address) error
	// Held returns those of set that this host holds now, on the
	// interface each names, whatever prefix length they carry.
	Held(ctx context.Context, set []Address) ([]Address, error)
	// Interface looks an interface up: index and MAC, for announcing.
	Interface(name string) (*net.Interface, error)
}

// Errors a Manager wraps, so callers can tell an operator what to do.
var (
	ErrNoInterface   = errors.New("no such interface")
	ErrInterfaceDown = errors.New("interface is down")
	// ErrPermission wraps a refusal by the kernel; the message names the
	// capability that is missing.
	ErrPermission = errors.New("permission denied")
)

func noInterface(name string) error {
	return fmt.Errorf("interface %s: %w", name, ErrNoInterface)
}

func interfaceDown(name string) error {
	return fmt.Errorf("interface %s: %w (bring it up: ip link set %s up)", name, ErrInterfaceDown, name)
}

func permission(op string, capability string, err error) error {
	return fmt.Errorf("%s: %w: needs %s (run as root or grant the capability): %v", op, ErrPermission, capability, err)
}

// acquireEach is AcquireAll for a Manager with nothing to gain from
// doing them together.
func acquireEach(ctx context.Context, m Manager, as []Address) []error {
	errs := make([]error, len(as))
	for i, a := range as {
		errs[i] = m.Acquire(ctx, a)
	}
	return errs
}
