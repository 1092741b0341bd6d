package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Datagram is one UDP datagram a recording heard.
type Datagram struct {
	At      time.Time
	From    netip.AddrPort
	Payload []byte
}

// Record listens on UDP port (every address, broadcasts too) in ns for d
// and returns what arrived, in order: how an eavesdropper on a link keeps
// the heartbeats it hears.
func Record(ns *NS, port int, d time.Duration) ([]Datagram, error) {
	var c *net.UDPConn
	err := ns.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record in %s: %w", ns.Name, err)
	}
	defer c.Close()
	var out []Datagram
	end := time.Now().Add(d)
	buf := make([]byte, 65536)
	for {
		if err := c.SetReadDeadline(end); err != nil {
			return out, err
		}
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, Datagram{At: time.Now(), From: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), Payload: append([]byte(nil), buf[:n]...)})
	}
}

// Replay sends each recorded datagram again from ns to dst, from the
// address and port it came from (another host's: a raw socket forges
// the source), at the pace it was recorded. dst is a lab address, such
// as a link's broadcast address. It returns how many it sent.
func Replay(ns *NS, rec []Datagram, dst netip.AddrPort) (int, error) {
	if !dst.Addr().Is4() {
		return 0, fmt.Errorf("replay to %v: IPv4 only", dst)
	}
	fd := -1
	err := ns.Do(func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return 0, fmt.Errorf("replay in %s: %w", ns.Name, err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrInet4{Addr: dst.Addr().As4()}
	start := time.Now()
	for i, d := range rec {
		if !d.From.Addr().Is4() {
			return i, fmt.Errorf("replay from %v: IPv4 only", d.From)
		}
		time.Sleep(time.Until(start.Add(d.At.Sub(rec[0].At))))
		if err := unix.Sendto(fd, udp4(d.From, dst, d.Payload), 0, to); err != nil {
			return i, fmt.Errorf("replay: send: %w", err)
		}
	}
	return len(rec), nil
}

// udp4 builds an IPv4 packet holding one UDP datagram. The kernel fills
// in the header's checksum and identification; a UDP checksum of zero
// means none (IPv4 allows it).
func udp4(src, dst netip.AddrPort, payload []byte) []byte {
	const ipLen, udpLen = 20, 8
	b := make([]byte, ipLen+udpLen+len(payload))
	b[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = unix.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[ipLen:], src.Port())
	binary.BigEndian.PutUint16(b[ipLen+2:], dst.Port())
	binary.BigEndian.PutUint16(b[ipLen+4:], uint16(udpLen+len(payload)))
	copy(b[ipLen+udpLen:], payload)
	return b
}
