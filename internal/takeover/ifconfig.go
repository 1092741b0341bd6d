package takeover

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
)

// Runner runs a command and returns its combined output; the ifconfig
// manager runs everything through one, so tests can fake it.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands for real.
type ExecRunner struct{}

// Run runs name with args.
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// IfconfigPath is where BSD and macOS keep ifconfig.
const IfconfigPath = "/sbin/ifconfig"

// AliasArgs are the ifconfig arguments that add a as an alias, as the
// original's ProcessFailover did: IPv4 with a dotted netmask (a /32 is
// netmask 255.255.255.255), IPv6 with a prefix length.
func AliasArgs(a Address) []string {
	ip := a.Addr()
	if ip.Is4() {
		mask := net.IP(net.CIDRMask(a.Prefix.Bits(), 32)).String()
		return []string{a.Interface, "alias", ip.String(), "netmask", mask}
	}
	return []string{a.Interface, "inet6", ip.String(), "prefixlen", strconv.Itoa(a.Prefix.Bits()), "alias"}
}

// UnaliasArgs are the ifconfig arguments that remove a.
func UnaliasArgs(a Address) []string {
	if a.Addr().Is4() {
		return []string{a.Interface, "-alias", a.Addr().String()}
	}
	return []string{a.Interface, "inet6", a.Addr().String(), "-alias"}
}

// Ifconfig manages addresses by running ifconfig, for macOS.
type Ifconfig struct {
	Run Runner
	// Interfaces lists an interface's state; net.InterfaceByName when nil.
	Interfaces func(name string) (*net.Interface, []netip.Addr, error)
}

func systemInterface(name string) (*net.Interface, []netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, nil, noInterface(name)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, nil, fmt.Errorf("addresses of %s: %w", name, err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return ifi, out, nil
}

// Interface looks name up.
func (m Ifconfig) Interface(name string) (*net.Interface, error) {
	ifi, _, err := m.state(name)
	return ifi, err
}

func (m Ifconfig) state(name string) (*net.Interface, []netip.Addr, error) {
	if m.Interfaces != nil {
		return m.Interfaces(name)
	}
	return systemInterface(name)
}

func (m Ifconfig) ifconfig(ctx context.Context, op string, args []string) error {
	out, err := m.Run.Run(ctx, IfconfigPath, args...)
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if strings.Contains(msg, "ermission denied") || strings.Contains(msg, "not permitted") {
			return permission(op, "root", fmt.Errorf("%s", msg))
		}
		return fmt.Errorf("%s: ifconfig %s: %v: %s", op, strings.Join(args, " "), err, msg)
	}
	return nil
}

func holds(addrs []netip.Addr, ip netip.Addr) bool {
	for _, a := range addrs {
		if a == ip {
			return true
		}
	}
	return false
}

// Acquire adds a as an alias unless it is there already.
func (m Ifconfig) Acquire(ctx context.Context, a Address) error {
	ifi, addrs, err := m.state(a.Interface)
	if err != nil {
		return err
	}
	if ifi.Flags&net.FlagUp == 0 {
		return interfaceDown(a.Interface)
	}
	if holds(addrs, a.Addr()) {
		return nil
	}
	return m.ifconfig(ctx, "add "+a.String(), AliasArgs(a))
}

// AcquireAll adds each address in turn.
func (m Ifconfig) AcquireAll(ctx context.Context, as []Address) []error {
	return acquireEach(ctx, m, as)
}

// Release removes the alias a; an absent one is not an error.
func (m Ifconfig) Release(ctx context.Context, a Address) error {
	_, addrs, err := m.state(a.Interface)
	if err != nil {
		return err
	}
	if !holds(addrs, a.Addr()) {
		return nil
	}
	return m.ifconfig(ctx, "remove "+a.String(), UnaliasArgs(a))
}

// Held returns those of set present on their interfaces.
func (m Ifconfig) Held(_ context.Context, set []Address) ([]Address, error) {
	var out []Address
	for _, a := range set {
		_, addrs, err := m.state(a.Interface)
		if err != nil {
			continue // an interface that does not exist holds nothing
		}
		if holds(addrs, a.Addr()) {
			out = append(out, a)
		}
	}
	return out, nil
}
