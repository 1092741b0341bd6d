package lab

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Do runs fn with the calling goroutine's thread inside the namespace.
// Sockets that fn opens stay in the namespace after Do returns, so a test
// can open a receiver in one namespace and read from it anywhere.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current namespace: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s: %w", ns.Name, err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it dies with the goroutine instead of
		// running other goroutines inside the lab.
		return fmt.Errorf("leave %s: %w", ns.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// DialContext connects from inside the namespace, for a Go client in the
// test (net/http, an etcd client's dialer) that must reach an address of
// the lab. addr must be an IP address and port: a name would be resolved
// by goroutines outside the namespace.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	return c, err
}

// ListenUDP opens a UDP socket on port (0: any) inside the namespace; it
// is closed at the end of the test, if not before.
func (ns *NS) ListenUDP(t testing.TB, port int) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	if err := ns.Do(func() (err error) { c, err = net.ListenPacket("udp4", ":"+strconv.Itoa(port)); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// linkHandle opens a netlink handle in ns.
func (ns *NS) linkHandle() (*netlink.Handle, error) {
	h, err := netns.GetFromName(ns.Name)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	defer h.Close()
	return netlink.NewHandleAt(h)
}

// nsLink is an interface in a namespace.
type nsLink struct {
	ns  *NS
	dev string
}

// setLinks sets each named link up or down, each in its namespace, one
// netlink message after the other: microseconds apart, where a command
// per namespace would leave milliseconds between them.
func setLinks(up bool, links ...nsLink) error {
	type op struct {
		h    *netlink.Handle
		link netlink.Link
	}
	var ops []op
	defer func() {
		for _, o := range ops {
			o.h.Close()
		}
	}()
	for _, l := range links {
		h, err := l.ns.linkHandle()
		if err != nil {
			return err
		}
		link, err := h.LinkByName(l.dev)
		if err != nil {
			h.Close()
			return fmt.Errorf("%s in %s: %w", l.dev, l.ns.Name, err)
		}
		ops = append(ops, op{h, link})
	}
	for _, o := range ops {
		set := o.h.LinkSetDown
		if up {
			set = o.h.LinkSetUp
		}
		if err := set(o.link); err != nil {
			return fmt.Errorf("set %s: %w", o.link.Attrs().Name, err)
		}
	}
	return nil
}
