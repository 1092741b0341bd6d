#!/usr/bin/env bash
# A live look at heartbeatd in a network-namespace lab: two servers joined
# by a private and a public link; tcpdump on each of server1's links shows
# the heartbeats leaving that link from that link's own address, and the
# gratuitous ARP that re-announces the addresses at start-up. Everything
# happens inside namespaces this script creates and deletes; only
# documentation addresses are used.
#
# The full failover demo (failoverd taking the address over) arrives with
# the lab issue.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root to create network namespaces: sudo make demo" >&2
	exit 1
fi
for tool in ip tcpdump; do
	command -v "$tool" >/dev/null || { echo "demo: needs $tool (apt-get install iproute2 tcpdump)" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/bin
id=$$
s1=ipfo-demo-$id-s1
s2=ipfo-demo-$id-s2
tmp=$(mktemp -d)
cleanup() {
	ip netns pids "$s1" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$s1" 2>/dev/null || true
	ip netns del "$s2" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== lab: server1 and server2, private link 192.0.2.0/24, public link 198.51.100.0/24"
ip netns add "$s1"
ip netns add "$s2"
ip link add priv0 netns "$s1" type veth peer name priv0 netns "$s2"
ip link add pub0 netns "$s1" type veth peer name pub0 netns "$s2"
for ns in "$s1" "$s2"; do
	for dev in lo priv0 pub0; do ip -n "$ns" link set "$dev" up; done
done
ip -n "$s1" addr add 192.0.2.1/24 brd + dev priv0
ip -n "$s1" addr add 198.51.100.1/24 brd + dev pub0
ip -n "$s2" addr add 192.0.2.2/24 brd + dev priv0
ip -n "$s2" addr add 198.51.100.2/24 brd + dev pub0

cat >"$tmp/ipfailover" <<CONF
FAILOVER_BCAST_IPS="192.0.2.255 198.51.100.255"
FAILOVER_INTERVAL=500ms
CONF

echo "== heartbeatd -n on server1"
ip netns exec "$s1" "$bin/heartbeatd" -n --config "$tmp/ipfailover"

echo "== heartbeatd on server1 for 3 seconds, then SIGTERM (goodbye on both links)"
for dev in priv0 pub0; do
	ip netns exec "$s1" timeout 5 tcpdump -l -n -i "$dev" 'udp port 1694 or arp' >"$tmp/$dev.txt" 2>/dev/null &
done
sleep 1
ip netns exec "$s1" "$bin/heartbeatd" --config "$tmp/ipfailover" &
hb=$!
sleep 3
kill -TERM "$hb"
wait "$hb" || true
sleep 1.5
for dev in priv0 pub0; do
	echo "== tcpdump on server1 $dev"
	cat "$tmp/$dev.txt"
done
echo "== demo done; the lab is removed"
