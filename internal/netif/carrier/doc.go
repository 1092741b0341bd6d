// Package carrier watches the carrier of network interfaces: whether a
// cable is in and the far end is up (`ip link` shows LOWER_UP).
//
// A cable straight to another host loses its carrier the moment that
// host loses power, and the kernel says so within microseconds, long
// before a heartbeat is missed. failoverd feeds the carrier of its links
// to the decision machine (FAILOVER_CONFIRM: a link without carrier is
// not probed and cannot confirm the primary alive or gone); heartbeatd
// beats at once on a link whose carrier comes back.
//
// It is a package of its own, beside netif, because it needs netlink on
// Linux: netif is read by the configuration and by failoverctl, which
// must not link netlink. Other systems have no watch; Watch says so with
// an error wrapping errors.ErrUnsupported.
package carrier
