package takeover

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

type recordRunner struct {
	calls []string
	out   string
	err   error
}

func (r *recordRunner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	r.calls = append(r.calls, name+" "+strings.Join(args, " "))
	return []byte(r.out), r.err
}

func addr(iface, prefix string) Address {
	return Address{Interface: iface, Prefix: netip.MustParsePrefix(prefix)}
}

func TestIfconfigCommandLines(t *testing.T) {
	cases := []struct {
		a            Address
		alias, unali string
	}{
		{addr("en0", "100.0.0.10/32"), "en0 alias 100.0.0.10 netmask 255.255.255.255", "en0 -alias 100.0.0.10"},
		{addr("en1", "203.0.113.7/24"), "en1 alias 203.0.113.7 netmask 255.255.255.0", "en1 -alias 203.0.113.7"},
		{addr("en0", "2001:db8::10/64"), "en0 inet6 2001:db8::10 prefixlen 64 alias", "en0 inet6 2001:db8::10 -alias"},
	}
	for _, c := range cases {
		if got := strings.Join(AliasArgs(c.a), " "); got != c.alias {
			t.Errorf("alias %v: %q, want %q", c.a, got, c.alias)
		}
		if got := strings.Join(UnaliasArgs(c.a), " "); got != c.unali {
			t.Errorf("-alias %v: %q, want %q", c.a, got, c.unali)
		}
	}
}

func TestIfconfigManager(t *testing.T) {
	held := []netip.Addr{netip.MustParseAddr("100.0.0.2")}
	up := true
	r := &recordRunner{}
	m := Ifconfig{Run: r, Interfaces: func(name string) (*net.Interface, []netip.Addr, error) {
		if name != "en0" {
			return nil, nil, noInterface(name)
		}
		f := net.Flags(0)
		if up {
			f = net.FlagUp
		}
		return &net.Interface{Name: name, Flags: f}, held, nil
	}}
	ctx := context.Background()
	a := addr("en0", "100.0.0.10/32")
	if err := m.Acquire(ctx, a); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || r.calls[0] != "/sbin/ifconfig en0 alias 100.0.0.10 netmask 255.255.255.255" {
		t.Fatalf("calls %q", r.calls)
	}
	// Held already: no second command; release of an absent one: none.
	held = append(held, a.Addr())
	r.calls = nil
	if err := m.Acquire(ctx, a); err != nil || len(r.calls) != 0 {
		t.Fatalf("re-acquire ran %q, %v", r.calls, err)
	}
	got, _ := m.Held(ctx, []Address{a, addr("en0", "100.0.0.11/32"), addr("en9", "100.0.0.12/32")})
	if len(got) != 1 || got[0] != a {
		t.Fatalf("held %v", got)
	}
	if err := m.Release(ctx, a); err != nil || len(r.calls) != 1 || r.calls[0] != "/sbin/ifconfig en0 -alias 100.0.0.10" {
		t.Fatalf("release ran %q, %v", r.calls, err)
	}
	held = held[:1]
	r.calls = nil
	if err := m.Release(ctx, a); err != nil || len(r.calls) != 0 {
		t.Fatalf("release of an absent address ran %q, %v", r.calls, err)
	}
	if err := m.Acquire(ctx, addr("en9", "100.0.0.10/32")); !errors.Is(err, ErrNoInterface) || !strings.Contains(err.Error(), "en9") {
		t.Fatalf("missing interface: %v", err)
	}
	up = false
	if err := m.Acquire(ctx, a); !errors.Is(err, ErrInterfaceDown) || !strings.Contains(err.Error(), "en0") {
		t.Fatalf("down interface: %v", err)
	}
	up = true
	r.err, r.out = errors.New("exit status 1"), "ifconfig: ioctl (SIOCAIFADDR): Permission denied"
	if err := m.Acquire(ctx, addr("en0", "100.0.0.20/32")); !errors.Is(err, ErrPermission) {
		t.Fatalf("permission: %v", err)
	}
}
