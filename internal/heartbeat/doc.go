// Package heartbeat is heartbeatd's side of the protocol: the sender loop
// (Sender: every interval one heartbeat to each target, out of the link
// that reaches the target and from this host's address on that link), the
// listener for the secondary's `released` and `holding`
// (ReleasedListener), and the service addresses (Service, with Holders).
//
// # Service addresses
//
// The service addresses (FAILOVER_SERVICE_IPS) are addresses clients use
// that are not the primary's own, so that heartbeatd can let go of them
// and failoverd take them with one owner at every moment. Service holds
// them:
//   - Claim adds them only once nobody else answers for them: asked
//     three times over Wait, no answer. After the secondary's `released`
//     ClaimReleased asks too, over the shorter ReleasedWait (the
//     secondary removed them before it said so), and adds nothing while
//     another host answers: that host is not the one that let go.
//   - While another host answers (the secondary holds them), Run tries
//     again every Retry: a secondary that stopped without a `released`
//     does not keep them away for ever.
//   - Once added, Run asks again: every third of Wait for Window, then
//     every Retry. Another host answering for an address held here is a
//     conflict: logged and noticed (Notify), and the address kept.
//   - SecondaryHolds removes them: the secondary said, signed, that it
//     holds them (its `holding`: it took them over while it did not hear
//     this host, and hears it now). Run adds them again after the
//     secondary's `released`, or once nobody answers for them.
//   - Yield removes them while the service checks fail, so that failoverd
//     takes them over; nothing is added again until SetHealthy.
//   - Release removes them; heartbeatd calls it before its goodbye, so
//     that failoverd, which waits for the addresses to stop answering,
//     takes them over within milliseconds.
//   - With Keys (the arbiter), an address is added only once its key is
//     claimed, right before the add, and its key is freed once it is
//     removed; LetGo removes them without freeing the keys, when this
//     host's lease is lost (they go with it).
//
// # Other hosts answering
//
// Holders keeps the other hosts that answer for the service addresses:
// the secondary, which holds them after a takeover and lets go with a
// `released`, and anyone else (a third host with the same
// FAILOVER_SERVICE_IPS, an attacker). An ARP or NA answer says nothing
// about who sent it, so no answer is taken for the secondary's, and none
// ever takes an address away: only the secondary's signed `holding` does.
//   - An address this host wants and another host answers for: it waits
//     (nothing is added), and the holder is noticed once it has answered
//     for Patience (the secondary's hold-down and its hooks): the
//     secondary after a takeover gives the address back within that,
//     unless it keeps it (automatic give-back off, a failed give-back, a
//     crash).
//   - An address this host holds and another host answers for: a
//     conflict, noticed once; this host keeps the address.
package heartbeat
