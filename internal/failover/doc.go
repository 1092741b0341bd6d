// Package failover is failoverd's decision state machine. It is pure:
// events go in with the time they happened, actions come out, and the
// caller carries the actions out (hooks, addresses, notices) and feeds
// their results back as events. Nothing here reads a clock or a socket.
//
// The rules, as the original's:
//   - Heartbeats stop on every link for the timeout: take the addresses over.
//   - They stop on some links only: a "network anomaly" notice, nothing taken.
//   - A goodbye (the primary stopping on purpose): take over at once.
//   - Heartbeats heard again, on any link, without a gap for the hold-down:
//     give the addresses back (the private link alone must do: once this
//     host holds the primary's public address, Linux drops the primary's
//     public-link packets as coming from a local address).
//
// Jobs: a takeover runs Test, PreAcq*, the acquisition and PostAcq* as one
// job; a give-back runs Test, PreRel*, the release, PostRel* and sends
// `released`. A job, once started, runs to its end: a primary that returns
// during a takeover gets its addresses back after the hold-down, counted
// from when it was heard again; a primary that goes silent during a
// give-back is taken over again after the timeout. Test exiting non-zero
// vetoes the job: nothing changes, a notice says so, and Test is asked
// again at the next decision point (while the primary stays silent, every
// VetoRetry; during a give-back, after another hold-down).
//
// # Asking who answers
//
// Silence proves only that heartbeats stopped, not that the primary let
// go of its addresses: heartbeatd may have died on a live host, or the
// primary stopped on purpose with its own address still up. So, with
// Params.Ask, the machine takes nothing that another host answers for.
// The caller asks the link (ARP, neighbour solicitation) as often as
// the last Ask action says and reports each round of questions (Asked)
// and each answer from another host (Answered). The machine says what to
// ask and probe only in actions (Ask, Probe, ProbeRound), each time it
// changes: the caller keeps the last of each and polls nothing.
//   - The questions start a few spacings before the timeout, so that a
//     dead primary costs no time. At the decision (the timeout, the
//     initial grace's end, a vetoed takeover's retry) the last window of
//     questions decides: no answer, take over; an answer, Conflict (one
//     notice); too few questions yet, Asking until it is known.
//   - A goodbye: Asking, every third of AskWait, and the takeover the
//     moment the addresses stop answering. Once an answer shows the host
//     up, the questions slow to the suspicion's pace and window; still
//     answered after GoodbyeWait, it is a Conflict.
//   - Conflict: asked on; the takeover once nobody answers; Standby when
//     the primary is heard again. One that lasts ConflictTest runs Test
//     alone (the Fence job, which may fence the primary), again every
//     VetoRetry.
//   - Acquiring: an answer before the addresses are added stops the job.
//   - Active: asked while the primary is heard, and for a hold-down after
//     a takeover or a carrier back. An answer with the primary heard
//     gives the addresses back at once, since keeping them would leave two
//     hosts answering (a notice instead, with automatic give-back off);
//     an answer alone, which anyone can forge, is a conflict notice.
//
// # Probing the primary's host
//
// With Params.Confirm the machine need not wait out the timeout. The
// primary's kernel answers ARP and neighbour solicitations even when its
// user space is slow or its heartbeatd gone, so the caller probes the
// address the primary's heartbeats come from on each link, as Probing
// says, and reports each probe (Probed), each answer (ProbeAnswer) and
// each carrier change (Carrier). A round of probes:
//   - starts when the heartbeat is late on every link (an interval and
//     a quarter after the last; later with a long fixed timeout), or
//     when a link loses its carrier (a cable straight to the primary
//     goes dark the moment it loses power; at most one such round a
//     timeout). The questions go out with it;
//   - confirms the primary gone once Probes probes on every link with
//     carrier (one at least) went unanswered, the last an answer's wait
//     ago: the takeover starts by the usual rule (the addresses must be
//     free), and the round ends ProbeConfirmed;
//   - ends at any answer (ProbeAnswered: the host lives, the usual rules
//     apply), a heartbeat (ProbeHeard) or the state moving on
//     (ProbeMovedOn). A link that cannot be probed never gets its
//     probes, so the round cannot confirm: it ends after a third of the
//     timeout or so (ProbeIncomplete) and the timeout decides, as
//     without it.
//
// One round per silence: another needs a heartbeat in between, or a
// carrier lost since the last began, so that a live host under loss is
// not probed until one round happens to lose every answer. A probe or a
// question sent on a link that lacked carrier at any moment since counts
// for nothing.
//
// # The primary's health
//
// The heartbeats say how the primary's service is (its Check hooks on
// heartbeatd's side). A primary that is alive but whose service fails
// hands its service addresses over: heartbeatd removes them, then says
// unhealthy, and the machine takes them as soon as they stop answering,
// as after a goodbye, while the heartbeats go on (the link rules are
// unchanged). Unhealthy heartbeats do not count towards a give-back;
// healthy ones again do, by the usual hold-down. A host's own address
// never stops answering, so in host-address mode a notice is all that
// happens.
package failover
