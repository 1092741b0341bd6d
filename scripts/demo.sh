#!/usr/bin/env bash
# A live failover in a network-namespace lab: server1 (primary, heartbeatd)
# and server2 (secondary, failoverd) joined by a private and a public link.
# Cut the private cable (anomaly, nothing taken), then the public one
# (takeover), then put both back (give-back), watching failoverctl status.
# Everything happens inside namespaces this script creates and deletes;
# only documentation addresses are used.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root to create network namespaces; run: sudo make demo" >&2
	exit 1
fi
command -v ip >/dev/null || { echo "demo: needs ip (apt-get install iproute2)" >&2; exit 1; }

here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/bin
id=$$
s1=ipfo-demo-$id-s1
s2=ipfo-demo-$id-s2
tmp=$(mktemp -d)
cleanup() {
	for ns in "$s1" "$s2"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	sleep 0.3
	for ns in "$s1" "$s2"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
status() { ip netns exec "$s2" "$bin/failoverctl" --control-socket "$tmp/failoverd.sock" status "$@"; }
state() { status --json 2>/dev/null | sed -n 's/^  "state": "\(.*\)",$/\1/p'; }
wait_state() { # state, timeout in tenths of a second
	for _ in $(seq "$2"); do
		[ "$(state)" = "$1" ] && return 0
		sleep 0.1
	done
	echo "demo: failoverd did not reach $1; its log:" >&2
	cat "$tmp/failoverd.log" >&2
	return 1
}

say "lab: server1 (primary) and server2 (secondary); private link 192.0.2.0/24, public link 198.51.100.0/24"
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

# Hooks for the public address 198.51.100.1: each says what it would do.
hooks=$tmp/hooks/198.51.100.1
mkdir -p "$hooks"
chmod 755 "$tmp" "$tmp/hooks" "$hooks"
for h in Test PreAcq10.mount-storage PostAcq10.start-web PreRel10.stop-web PostRel10.unmount-storage; do
	printf '#!/bin/sh\necho "%s for $FAILOVER_ADDRESS on $FAILOVER_INTERFACE ($FAILOVER_REASON)"\n' "$h" >"$hooks/$h"
	chmod 755 "$hooks/$h"
done

cat >"$tmp/ipfailover" <<CONF
FAILOVER_BCAST_IPS="192.0.2.255 198.51.100.255"
FAILOVER_INTERVAL=200ms
FAILOVER_PEER_IP="192.0.2.1"
FAILOVER_PEER_IP_PAIRS="pub0:198.51.100.1"
FAILOVER_INITIAL_GRACE=3s
FAILOVER_GIVEBACK_HOLDDOWN=2s
FAILOVER_HOOK_DIR=$tmp/hooks
FAILOVER_SENDMAIL=
FAILOVER_CONTROL_SOCKET=$tmp/failoverd.sock
CONF

say "failoverd -n on server2 (check the configuration against the interfaces)"
ip netns exec "$s2" "$bin/failoverd" -n --config "$tmp/ipfailover"

say "start heartbeatd on server1 and failoverd on server2"
ip netns exec "$s1" "$bin/heartbeatd" --config "$tmp/ipfailover" >"$tmp/heartbeatd.log" 2>&1 &
ip netns exec "$s2" "$bin/failoverd" --config "$tmp/ipfailover" >"$tmp/failoverd.log" 2>&1 &
wait_state standby 50
sleep 0.5
status

say "cut server1's private cable: one link silent is an anomaly, nothing is taken"
ip -n "$s1" link set priv0 down
wait_state degraded 30
status

say "cut server1's public cable too: server2 takes 198.51.100.1 over"
t=$(date +%s%N)
ip -n "$s1" link set pub0 down
wait_state active 50
echo "takeover complete $(ms_since "$t") ms after the second cable was cut (timeout: 3 x 200 ms)"
status
echo
ip -n "$s2" -br addr show dev pub0

say "put both cables back: after the hold-down, server2 gives the address back"
t=$(date +%s%N)
ip -n "$s1" link set priv0 up
ip -n "$s1" link set pub0 up
wait_state standby 100
echo "give-back complete $(ms_since "$t") ms after the cables came back (hold-down 2 s)"
status
echo
ip -n "$s2" -br addr show dev pub0

say "what failoverd logged, hooks included"
grep -E 'state|notice|hook output|took|gave|told' "$tmp/failoverd.log" | sed 's/^time=[^ ]* //'
say "demo done; the lab is removed"
