package arbiter

import (
	"fmt"
	"log/slog"

	"github.com/ipfailover/ipfailover/internal/config"
)

// Open makes the arbiter's client for c (FAILOVER_ARBITER), as role
// ("primary", or "standby" and the priority), and what closes its
// connections once it stopped; nil without an arbiter. It sends nothing
// until it runs. Both daemons open theirs here.
func Open(c *config.Config, role string, log *slog.Logger) (*Client, func(), error) {
	if len(c.Arbiter) == 0 {
		return nil, nil, nil
	}
	b, err := dialConfig(c)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot set up the arbiter (%s): %w", config.KeyArbiter, err)
	}
	cl, err := New(b, ConfigOf(c, role, log))
	if err != nil {
		b.Close()
		return nil, nil, fmt.Errorf("cannot set up the arbiter (%s): %w", config.KeyArbiter, err)
	}
	return cl, func() { b.Close() }, nil
}

// ConfigOf is the client's configuration for c (FAILOVER_ARBITER_*), as
// role: what Open gives New, and the simulation too.
func ConfigOf(c *config.Config, role string, log *slog.Logger) Config {
	return Config{Node: c.NodeName, Role: role, Prefix: c.ArbiterPrefix, TTL: c.ArbiterTTL,
		KeepPastDeadline: c.ArbiterLost == "keep", Logger: log}
}

// dialConfig dials the etcd members c names, with its TLS files,
// trying one that refused again about once a round (jitter: up to 1.2).
func dialConfig(c *config.Config) (*Etcd, error) {
	return DialEtcd(EtcdConfig{Endpoints: c.Arbiter, DialTimeout: c.ArbiterTTL, Reconnect: c.ArbiterTTL / 6,
		CAFile: c.ArbiterCA, CertFile: c.ArbiterCert, KeyFile: c.ArbiterKey})
}
