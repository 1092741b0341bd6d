// Package heartbeatd is heartbeatd's runtime, the twin of
// internal/failoverd: the daemon that the command wires to its sockets,
// behind small interfaces (the sender, the service addresses, the checks,
// the re-announcer, the listener for the secondary's messages) so that
// its policies are tested without root.
//
// The policies:
//   - A planned stop removes the service addresses before the goodbye
//     goes out: failoverd takes them the moment they stop answering, so
//     there is one owner at every moment of a switchover.
//   - A failing check removes the service addresses before the
//     heartbeats say unhealthy, for the same reason; heartbeats that say
//     the service is healthy again go out at once, and the addresses come
//     back after the secondary's `released`.
//   - The secondary's `released` (it gave the addresses back) makes
//     heartbeatd claim its service addresses, then re-announce this
//     host's addresses on the links as they are now, so that clients
//     move back in milliseconds; its `holding` (it holds them and hears
//     this host) makes heartbeatd give its service addresses up. Both
//     must name this run's epoch (heartbeat.FromSecondary).
//   - With an arbiter (FAILOVER_ARBITER, arbiter.go) heartbeatd keeps a
//     lease as the primary and holds, under it, the keys of its links'
//     addresses (without service addresses) or of the service addresses
//     it holds: one is added only once its key is this host's and nobody
//     answers for it, and removed at the lease's deadline when the
//     majority is lost (FAILOVER_ARBITER_LOST=keep: not while every
//     member refuses). On a stop the addresses go, then the keys, then
//     the goodbye; the lease is revoked last.
//   - SIGHUP reloads what can change while running: the targets,
//     interval, message, keys and the announcements' schedule. A
//     configuration the sender refuses leaves everything as it ran.
package heartbeatd
