// Package neighbor is this host's traffic with its neighbours on a link:
// it announces addresses, and asks who answers for them.
//
// Announcing: an IPv4 address is announced with a gratuitous ARP request
// and a gratuitous ARP reply, broadcast from the interface's MAC (some
// hosts act on the one, some on the other); an IPv6 address with an
// unsolicited neighbour advertisement, Override set, to all nodes. A
// Schedule sends a burst at once and repeats after it, spaced apart,
// since some switches and kernels ignore the first ones. The takeover
// package's Mover announces what it takes through an Announcer; a
// Tickler re-announces a host's own addresses, as the original
// heartbeatd "tickled" its interfaces, so that a primary that comes back
// is found at once, not when the neighbours' caches expire.
//
// Asking: an ARP probe (RFC 5227: sender protocol address 0.0.0.0, so no
// neighbour adds or changes a cache entry for it) or a neighbour
// solicitation to the address's solicited-node multicast group, with a
// source link-layer option so that the holder can answer without asking
// back. An answer is any frame from another host that names the address
// as its sender: a reply to the question, a gratuitous ARP, the holder's
// own ARP request. This host's own frames never count: an outgoing frame
// is not seen, and one whose sender MAC is one of this host's interfaces'
// is dropped. The kernel filters what is read: a BPF program passes only
// ARP whose sender is a watched address, so a flood of other ARP is
// dropped before it costs a read, and the ICMPv6 socket receives only
// neighbour advertisements. Reads wait in Go's poller, so Close or a
// deadline ends them. Drain reports at once the answers that arrived but
// wait unread, before a decision counts unanswered probes; it is bounded
// in frames and time, since anyone on the link can send frames naming a
// watched address faster than they are read.
//
// Sockets: an AF_PACKET datagram socket for ARP (the kernel adds and
// strips the Ethernet header) and a raw ICMPv6 socket for neighbour
// discovery, hop limit 255 (RFC 4861), multicast not looped back. Both
// need CAP_NET_RAW; without it the error names the capability. On other
// systems there is no announcer and no asker of ours (on macOS raw ARP
// needs BPF devices; its kernel sends one gratuitous ARP itself when an
// alias is added): NewAnnouncer and NewAsker return an error wrapping
// errors.ErrUnsupported, and OpenAnnouncer and OpenAsker log why and
// return nil.
//
// The frame codecs (ARP, neighbour solicitation and advertisement) are
// pure and tested against golden bytes and by fuzzing.
package neighbor
