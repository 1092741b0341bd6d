// Package takeover manages the addresses a host takes over: a Manager
// adds and removes them on this host's interfaces (netlink on Linux,
// ifconfig aliases on macOS), and a Mover takes them over and gives them
// back, announcing what it takes through a neighbor.Announcer and keeping
// what it holds.
//
// Adding and removing are idempotent: an address already held is not an
// error to add, one already gone is not an error to remove. An Address
// carries the prefix length it is installed with (the configuration
// applies the original's mask rule). On Linux an address is valid
// forever but never preferred (preferred_lft 0), so the kernel never
// picks it as the source of the host's own connections, and an entry
// that is not ours (the host's own address) is never added again or
// removed. Errors wrap ErrNoInterface, ErrInterfaceDown or ErrPermission,
// so that the caller can tell the operator what to do.
//
// The Mover announces an address's first burst before Take returns and
// the repeats in the background, until they are done or the address is
// given back. Check, run every reconcile period by Keep, re-adds and
// re-announces a held address that vanished from the host (an `ip addr
// flush`); Take, Give and Check are serialised, so a Check never
// restores an address a Give is removing.
//
// Fake is an in-memory Manager and Announcer for other packages' tests.
package takeover
