// Package failoverd is failoverd's runtime: the state machine fed with
// heartbeats, ticks, job results and operator requests; the jobs that run
// the hooks around taking and giving the addresses; the `released` and
// `holding` messages to the primary; status for failoverctl.
//
// Everything it touches outside the process comes in as a small interface
// (Source, Mover, Asker, HookRunner, Notifier, Releaser, Watchdog, Clock),
// so its tests run it with fakes under testing/synctest, without root, in
// milliseconds.
//
// One mutex owns the machine: a method named …Locked is called with it
// held (or from New, before the daemon is shared), and so are most
// Observer calls, which must return at once. The heartbeats a socket
// yields at one wakeup are applied by the goroutine that read them, with
// no hand-off to another goroutine, and the deadline timer is set only
// when it would otherwise fire before the next heartbeat: while
// heartbeats come, the process wakes only when they do.
package failoverd
