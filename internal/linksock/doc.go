// Package linksock opens the sockets of a UDP port that packets come to
// on several links (the heartbeat port, the standby port) and reads them:
// each packet with the interface it arrived on and its source.
// SetRecvBuffer and AttachFilter serve other sockets too.
//
// # Sockets on Linux
//
// Each link has a socket bound to its interface (SO_BINDTODEVICE) with a
// receive buffer of RecvBuffer, so that junk sent to the port on one link
// fills that link's queue and is read by that link's goroutine, never in
// the way of another link's packets, and a burst of it is absorbed by the
// buffer. A link whose interface does not exist (yet) gets no socket of
// its own: then one socket for the port on every other interface takes
// its packets, once it is there, attributed to it by their interface,
// without the isolation. That socket's kernel filter drops what arrives
// on a bound link's interface (a broadcast reaches it too).
//
// The port is shared only then. A socket bound to the wildcard beside the
// links' sockets needs SO_REUSEADDR on all of them, and for UDP the kernel
// lets any user's socket join that (SO_REUSEPORT would check the user, but
// picks its socket before the interface is matched): a local user's
// socket on the host's own address would take the unicast packets sent to
// it. When every link's interface exists, nothing is shared, there is no
// socket for the other interfaces, and another user's bind on the port
// fails.
//
// A socket is bound to its interface's index. Follow binds it again to
// an interface made again under the link's name, and gives the socket
// for the other interfaces the new index to drop; the standby port and
// the heartbeat port (package monitor) call it every second.
//
// Each socket is read with recvmmsg(2), a batch at a time, by a
// goroutine of its own (read_linux.go says why it is read that way).
//
// # Elsewhere
//
// One socket for each address family takes the port on every interface;
// each packet's interface names its link. There are no kernel filters,
// and Drain does nothing.
package linksock
