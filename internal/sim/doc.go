// Package sim is a deterministic simulation of a whole pair: the real
// heartbeatd and failoverd runtimes, the real state machine, wire format,
// replay guard and monitor, in one process under testing/synctest, joined
// by a simulated network of two links (priv0, pub0) and a client on the
// public LAN. A seed fixes the configuration, the network's loss, delay,
// jitter and duplication in each direction, and the faults that happen:
// power off and on, a hung host, carrier lost and back on either side, a
// link cut, daemons killed, stopped and started, a stalled reader, a
// vetoing Test hook, and an attacker on each link who sends junk, replays
// what it recorded and forges ARP answers.
//
// At every change the simulation checks the promises (promises.go): one
// owner of the address outside the documented window, no takeover of a
// live primary, a dead primary taken within the bound, hooks in order,
// `released` only once the address is gone, no spin, and after the moves
// settle the client reaches exactly one owner. A breach fails with the
// seed and the timeline of the last events.
//
// What the seed cannot fix is the order in which the Go scheduler runs
// goroutines that are ready at the same simulated instant; each flow's
// random draws come from a generator of its own, so that order moves no
// draw to another packet.
package sim
