package config

import (
	"strings"
	"testing"
)

// Addresses that no host has, that never leave this host, or that name a
// group are configuration errors in every address key, with the file,
// line and key, what is wrong and what to write.
func TestNonsenseAddressesAreErrors(t *testing.T) {
	const good = "FAILOVER_BCAST_IPS=\"10.0.255.255 198.51.100.255\"\nFAILOVER_PEER_IP=10.0.0.1\nFAILOVER_PEER_IP_PAIRS=eth0:198.51.100.10\n"
	cases := []struct {
		role          Role
		line, problem string
		hint          string
	}{
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:0.0.0.0"`, "0.0.0.0 is the unspecified address", "name an address clients reach the primary at"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:198.51.100.10 eth0:255.255.255.255"`, `"eth0:255.255.255.255": 255.255.255.255 is the limited broadcast address`, "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:127.0.0.1"`, "127.0.0.1 is a loopback address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:224.0.0.1/24"`, "224.0.0.1 is a multicast address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:240.0.0.9"`, "240.0.0.9 is in the reserved range 240.0.0.0/4", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:169.254.3.4"`, "169.254.3.4 is a link-local address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:[::]"`, ":: is the unspecified address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:[::1]"`, "::1 is a loopback address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:[ff02::1]"`, "ff02::1 is a multicast address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:[fe80::10]/64"`, "fe80::10 is a link-local address", "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:203.0.113.255/24"`, `"eth0:203.0.113.255/24": 203.0.113.255 is the broadcast address of 203.0.113.0/24`, "clients reach"},
		{Failoverd, `FAILOVER_PEER_IP=0.0.0.0`, "0.0.0.0 is the unspecified address", "the primary's own address on the private link"},
		{Failoverd, `FAILOVER_PEER_IP=127.0.0.1`, "loopback", "private link"},
		{Failoverd, `FAILOVER_PEER_IP=224.0.0.1`, "multicast", "private link"},
		{Failoverd, `FAILOVER_PEER_IP=255.255.255.255`, "limited broadcast", "private link"},
		{Failoverd, `FAILOVER_PEER_IP=fe80::1`, "IPv6 link-local address, which names no link without a zone", "global or unique-local address on the private link"},
		{Failoverd, `FAILOVER_PEER_IP=::`, "unspecified", "private link"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="10.0.255.255 0.0.0.0"`, "0.0.0.0 is the unspecified address", "each link's broadcast address"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="127.255.255.255"`, "loopback", "broadcast address"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="224.0.0.1"`, "multicast", "broadcast address"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="ff02::1"`, "ff02::1 is a multicast address", "IPv6 has no broadcast"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="::1"`, "loopback", "IPv6 has no broadcast"},
		{Heartbeatd, `FAILOVER_BCAST_IPS="fe80::2"`, "link-local", "IPv6 has no broadcast"},
	}
	for _, c := range cases {
		key, _, _ := strings.Cut(c.line, "=")
		path := writeFile(t, good+c.line+"\n")
		_, err := Load(c.role, Sources{File: path, FileExplicit: true})
		if err == nil {
			t.Errorf("%s: accepted", c.line)
			continue
		}
		msg := err.Error()
		for _, want := range []string{path + ":4: " + key + "=", c.problem, c.hint} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s:\n error %q\n lacks %q", c.line, msg, want)
			}
		}
	}
	// What is fine: a broadcast target (the limited one too: check mode
	// warns), IPv4 link-local on a private cable, unique-local IPv6.
	for _, c := range []struct {
		role Role
		line string
	}{
		{Heartbeatd, `FAILOVER_BCAST_IPS="169.254.255.255 255.255.255.255 2001:db8::2"`},
		{Failoverd, `FAILOVER_PEER_IP=169.254.0.1`},
		{Failoverd, `FAILOVER_PEER_IP=fd00::1`},
		{Failoverd, `FAILOVER_PEER_IP_PAIRS="eth0:198.51.100.10 eth0:[2001:db8::10]/64 eth0:100.64.0.1"`},
	} {
		if _, err := Load(c.role, Sources{File: writeFile(t, good+c.line+"\n"), FileExplicit: true}); err != nil {
			t.Errorf("%s: %v", c.line, err)
		}
	}
}

// Check mode knows the interfaces' subnets: their broadcast addresses are
// no host's either.
func TestCheckRefusesSubnetBroadcasts(t *testing.T) {
	out := findings(t, Failoverd, "10.0.255.255", "eth0:100.0.255.255", "eth0:100.0.0.10")
	wantLines(t, out,
		"error   command line (master_priv_addr argument): FAILOVER_PEER_IP=10.0.255.255: the broadcast address of priv0 (10.0.0.2/16), not one host's; name the primary's own address on the private link",
		"error   command line (interface:pub_addr arguments): FAILOVER_PEER_IP_PAIRS=eth0:100.0.255.255: 100.0.255.255 is the broadcast address of eth0's subnet 100.0.0.0/16, not one host's",
	)
}
