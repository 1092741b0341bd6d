package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The metrics endpoint's port of each daemon when FAILOVER_METRICS_ADDR
// names a host alone: one file may serve both servers, and a host that
// runs both daemons (a test, a lab) needs two ports.
const (
	MetricsPortFailoverd  = 9694
	MetricsPortHeartbeatd = 9695
)

// MetricsPort is role's metrics port.
func MetricsPort(role Role) uint16 {
	if role == Heartbeatd {
		return MetricsPortHeartbeatd
	}
	return MetricsPortFailoverd
}

// parseMetricsAddr checks a FAILOVER_METRICS_ADDR value: empty, an IP
// address, `[IPv6]`, `address:port`, `[IPv6]:port` or `:port`.
func parseMetricsAddr(v string) *valueError {
	const hint = "write an address such as 127.0.0.1 (the daemon's own port) or 127.0.0.1:9100, or leave it empty for no metrics"
	if v == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"), ""
	} else if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return &valueError{"not a port number after the address", hint}
	}
	if host == "" && port != "" {
		return nil // every address
	}
	if a, err := netip.ParseAddr(host); err != nil || a.Zone() != "" {
		return &valueError{"not an IP address (a host name is not accepted: the endpoint must not move when DNS does)", hint}
	}
	return nil
}

// MetricsListen is the address role's metrics endpoint listens on, with
// the daemon's own port when the key names a host alone; empty: no
// endpoint.
func (c *Config) MetricsListen(role Role) string {
	v := c.MetricsAddr
	if v == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(v); err == nil {
		return v
	}
	host := strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	return net.JoinHostPort(host, strconv.Itoa(int(MetricsPort(role))))
}
