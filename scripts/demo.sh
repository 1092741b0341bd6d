#!/usr/bin/env bash
# A live failover in a network-namespace lab, narrated as a user would
# watch it. server1 (primary: heartbeatd and a small web service) and
# server2 (secondary: failoverd, hooks, the same web service) each have a
# public leg on a switch and a private cable between them; a client on the
# switch asks http://198.51.100.1/ every 50 ms and we measure how long it
# goes unanswered. Everything happens inside namespaces this script
# creates and always deletes (also on Ctrl-C); only documentation
# addresses are used.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root to create network namespaces; run: sudo make demo" >&2
	exit 1
fi
for tool in ip curl python3; do
	command -v "$tool" >/dev/null || { echo "demo: needs $tool (apt-get install iproute2 curl python3)" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")/.." && pwd)
# DEMO_BIN: where the daemons are (bin/ of the clone by default);
# DEMO_CONF: more configuration lines for both daemons (the tests use it).
bin=${DEMO_BIN:-$here/bin}
id=$$
sw=ipfo-demo-$id-sw s1=ipfo-demo-$id-s1 s2=ipfo-demo-$id-s2 cl=ipfo-demo-$id-cl
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
	for ns in "$cl" "$s1" "$s2" "$sw"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	sleep 0.5
	for ns in "$cl" "$s1" "$s2" "$sw"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s%N)
say() { printf '\n\033[1m[%5.1fs] %s\033[0m\n' "$(( ($(date +%s%N) - t0) / 1000000 ))e-3" "$*"; }
now() { date +%s%N; }
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
# answered_by: who answered the client last.
answered_by() { tail -n 1 "$tmp/client.log" | cut -d' ' -f2; }
wait_answer() { # server, timeout in tenths of a second
	for _ in $(seq "$2"); do
		[ "$(answered_by)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# explain WHAT SINCE EVENT: what failoverd's own events and status say of
# the job (takeover or giveback) that began after SINCE (ns), when EVENT
# happened: when, measured, and why, in its words. Nothing here is said
# unless this run showed it.
explain() {
	status --json >"$tmp/status.json"
	ip netns exec "$s2" "$bin/failoverctl" --control-socket "$tmp/failoverd.sock" events --json >"$tmp/events.json"
	python3 - "$1" "$2" "$3" "$tmp/status.json" "$tmp/events.json" <<'PY'
import json, re, sys
from datetime import datetime, timezone

def ns(t):
    """An RFC 3339 time with up to nanoseconds, as nanoseconds since 1970."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", t)
    zone = timezone.utc if m[3] == "Z" else datetime.strptime(m[3].replace(":", ""), "%z").tzinfo
    whole = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone)
    return int(whole.timestamp()) * 10**9 + int((m[2] or "0")[:9].ljust(9, "0"))

what, since, event = sys.argv[1], int(sys.argv[2]), sys.argv[3]
st = json.load(open(sys.argv[4]))
events = json.load(open(sys.argv[5])) or []
ms = lambda d: round(d / 1e6)
job = next((e for e in events if e["kind"] == "job-start" and e.get("job") == what and ns(e["at"]) >= since), None)
if job is None:
    print(f"failoverd's events show no {what} since then")
    sys.exit()
at = ns(job["at"])
print(f"failoverd started the {what} {ms(at - since)} ms after {event}: {job['detail']}")
if what != "takeover":
    sys.exit()
heard = [ns(l["last_heard"]) for l in st.get("links", []) if l.get("last_heard")]
timeout, interval = st.get("timeout_ns", 0), st.get("peer_interval_ns", 0)
if not heard or not timeout:
    sys.exit()
last = max(heard)
late = at - last
print(f"server1's last heartbeat reached failoverd {ms(since - last)} ms before {event}, so it took over {ms(late)} ms after that heartbeat;", end=" ")
rule = f"{ms(timeout)} ms timeout" + (f" ({round(timeout / interval)} x {ms(interval)} ms)" if interval else "")
if late < timeout:
    print(f"it did not wait for the {rule}.")
else:
    print(f"it waited for the {rule}.")
for e in events:
    if e["kind"] == "probe" and e.get("outcome") and last <= ns(e["at"]) <= at:
        when = ns(e["at"]) - since
        when = f"{ms(when)} ms after {event}" if when >= 0 else f"{ms(-when)} ms before {event}"
        print(f"  a round of probes of server1's host ended {when}: {e['outcome']}: {e['detail']}")
PY
}

# outage SINCE: the longest time without an answer since SINCE (ns).
outage() {
	awk -v since="$1" -v until="$(now)" '
		$1 < since { next }
		$2 != "-" { if (prev == "") prev = since; if ($1 - prev > gap) gap = $1 - prev; prev = $1 }
		END { if (prev == "") prev = since; if (until - prev > gap) gap = until - prev; printf "%d", gap / 1000000 }' "$tmp/client.log"
}

say "building the lab: server1, server2 and a client on a switch; a private cable between the servers"
for ns in "$sw" "$s1" "$s2" "$cl"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
for leg in "$s1:pub0:s1" "$s2:pub0:s2" "$cl:eth0:cl"; do
	IFS=: read -r ns dev port <<<"$leg"
	ip link add "$dev" netns "$ns" type veth peer name "$port" netns "$sw"
	ip -n "$ns" link set "$dev" up
	ip -n "$sw" link set "$port" master br0 up
done
ip link add priv0 netns "$s1" type veth peer name priv0 netns "$s2"
ip -n "$s1" link set priv0 up
ip -n "$s2" link set priv0 up
ip -n "$s1" addr add 192.0.2.1/24 brd + dev priv0
ip -n "$s2" addr add 192.0.2.2/24 brd + dev priv0
ip -n "$s1" addr add 198.51.100.1/24 brd + dev pub0
ip -n "$s2" addr add 198.51.100.2/24 brd + dev pub0
ip -n "$cl" addr add 198.51.100.100/24 brd + dev eth0

for s in 1 2; do
	mkdir -p "$tmp/www$s"
	echo "server$s" >"$tmp/www$s/index.html"
done
ip netns exec "$s1" python3 -m http.server 80 --directory "$tmp/www1" >/dev/null 2>&1 &
ip netns exec "$s2" python3 -m http.server 80 --directory "$tmp/www2" >/dev/null 2>&1 &

# Hooks for the public address: each says what a real one would do.
hooks=$tmp/hooks/198.51.100.1
mkdir -p "$hooks"
chmod 755 "$tmp/hooks" "$hooks"
for h in Test PreAcq10.mount-storage PostAcq10.start-web PreRel10.stop-web PostRel10.unmount-storage; do
	printf '#!/bin/sh\necho "%s: $FAILOVER_ACTION $FAILOVER_ADDRESS on $FAILOVER_INTERFACE"\n' "$h" >"$hooks/$h"
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
FAILOVER_LOCK_SOCKET=$tmp/heartbeatd.sock
FAILOVER_STATE_DIR=$tmp/state
${DEMO_CONF:-}
CONF

say "failoverd -n on server2: the configuration against its interfaces"
ip netns exec "$s2" "$bin/failoverd" -n --config "$tmp/ipfailover" | grep -E '^(ok|warning|error|#)'

say "starting heartbeatd on server1 (every 200 ms on both links) and failoverd on server2"
ip netns exec "$s1" "$bin/heartbeatd" --config "$tmp/ipfailover" >"$tmp/heartbeatd.log" 2>&1 &
ip netns exec "$s2" "$bin/failoverd" --config "$tmp/ipfailover" >"$tmp/failoverd.log" 2>&1 &
wait_state standby 50

ip netns exec "$cl" bash -c '
	while :; do
		t=$(date +%s%N)
		r=$(curl -s -m 0.3 http://198.51.100.1/ 2>/dev/null) || r=-
		echo "$t ${r:--}"
		sleep 0.05
	done' >"$tmp/client.log" 2>/dev/null &
wait_answer server1 30
say "both links up; the client at 198.51.100.100 is answered by $(answered_by)"
status

say "cutting server1's private cable: one link silent is a network anomaly; nothing is taken"
ip -n "$s1" link set priv0 down
wait_state degraded 30
echo "failoverd: $(state); the client is still answered by $(answered_by)"

say "cutting server1's public cable at the switch: server1 is gone for the client"
cut=$(now)
ip -n "$sw" link set s1 down
wait_state active 50
wait_answer server2 30 || true
echo "server2 took 198.51.100.1 over; the client is answered by $(answered_by); it went unanswered for $(outage "$cut") ms"
explain takeover "$cut" "the cut"
status

say "putting both cables back"
back=$(now)
ip -n "$s1" link set priv0 up
ip -n "$sw" link set s1 up
wait_state standby 100
wait_answer server1 30 || true
echo "the client is answered by $(answered_by) again; it went unanswered for $(outage "$back") ms"
explain giveback "$back" "the cables were back"
if grep -q 'the secondary released the addresses' "$tmp/heartbeatd.log"; then
	echo "heartbeatd heard server2's 'released' and re-announced 198.51.100.1"
else
	echo "heartbeatd has not logged server2's 'released'"
fi
status

say "what failoverd logged"
grep -E 'msg=(state|notice|"hook output"|"took|"gave|"told)' "$tmp/failoverd.log" | sed 's/^time=[^ ]* level=[A-Z]* //'
say "done; removing the lab"
