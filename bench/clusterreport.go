package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// clusterNames are the configurations as the page names them.
var clusterNames = map[string]string{
	"ipfailover":         "ipfailover, no arbiter",
	"ipfailover-arbiter": "ipfailover, arbiter",
	"keepalived":         "keepalived",
}

// writeCluster writes the section of the three-server runs.
func writeCluster(w func(string, ...any), cr *clusterRun) {
	w("## More than two servers\n\n")
	w("Written by `sudo make bench` (or `cd bench && go run . -cluster-only`, which keeps the figures above) on\n")
	w("%s. Each cell is %d trials, the configurations interleaved trial by trial; the client and\n", cr.Measured.UTC().Format("2006-01-02 15:04 UTC"), cr.Trials)
	w("its measures are those above.\n\n")
	w("The cluster lab of `internal/lab`: server1, server2 and server3 in network namespaces, each on a\n")
	w("public and a private bridge (and a management bridge with three etcd members, for the arbiter), the\n")
	w("client on the public bridge. Dead count 3 everywhere.\n\n")
	w("- **ipfailover, no arbiter**: heartbeatd on server1, failoverd on server2 (`FAILOVER_PRIORITY=200`)\n")
	w("  and server3 (150), taking over server1's own public address 198.51.100.1; as the pair otherwise.\n")
	w("- **ipfailover, arbiter**: the same, every server with `FAILOVER_ARBITER` = the three etcd members\n")
	w("  on the management bridge, the lease `FAILOVER_ARBITER_TTL` = %v (the default).\n", cr.TTL)
	w("- **keepalived**: three routers, priorities 200, 150 and 100 on server1, server2 and server3, as the\n")
	w("  pair's otherwise (VRRPv3 multicast on the public bridge, virtual address 198.51.100.1).\n\n")
	w("Scenarios, in this order on one lab: **power off**, every switch port of server1 down at once (the\n")
	w("standbys are on bridges: they lose no carrier), server2 must answer, then the ports back up and the\n")
	w("cluster settles; **hung primary**, as above, server2 must answer, then the traffic flows again and\n")
	w("the cluster settles; **partition of the secondary**, server2 cut from server1 in the switch on\n")
	w("every bridge, server3, the client and etcd still reaching both, for")
	for i, iv := range cr.Intervals {
		if i > 0 {
			w(",")
		}
		w(" %v at a %v interval", cr.Partition[iv.String()], iv)
	}
	w("\n(the arbiter's TTL, two detection timeouts and a second), then healed and watched until server1\n")
	w("alone holds the address and answers the client again (for 5 s, three detection timeouts and the\n")
	w("TTL at most) and a detection timeout more. There the measure is the two-owner time, from the cut to\n")
	w("the end, and whether server2 took over (answered the client at all) while the cut lasted: whoever\n")
	w("answers, nothing is assumed; the outage is the client's while the cut lasted.\n\n")
	w("After the power off and the hung primary a cluster that is not back to server1 answering alone\n")
	w("within the same bound has server1's daemon restarted, as the pair's hung primary has.\n\n")
	w("*Two-owner ms* is the summed length of the ARP rounds two MACs answered (the median and the largest\n")
	w("of the trials); *rounds with two MACs* their count (the median and the largest); *server2 took\n")
	w("over* in how many trials it answered the client.\n\n")
	w("%s\n\n", cr.Setting)
	w("| interval | configuration | scenario | trials | outage median ms | outage range ms | server2 took over | two-owner median ms | two-owner max ms | trials with two MACs | rounds with two MACs, median (max) |\n")
	w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, iv := range cr.Intervals {
		for _, sc := range clusterScenarios {
			for _, c := range cr.Configs {
				v := cr.Outcomes[c][iv.String()][sc]
				if len(v) == 0 {
					continue
				}
				out, dual := summarize(outages(v)), summarize(duals(v))
				moved, seen := 0, 0
				var rounds []int
				for _, x := range v {
					if x.Moved >= 0 {
						moved++
					}
					if x.DualRounds > 0 {
						seen++
					}
					rounds = append(rounds, x.DualRounds)
				}
				slices.Sort(rounds)
				w("| %v | %s | %s | %d | %s | %s–%s | %d | %s | %s | %d | %d (%d) |\n", iv, clusterName(c), sc, out.n,
					fmtMS(out.median), fmtMS(outMin(v)), fmtMS(out.max), moved, fmtMS(dual.median), fmtMS(dual.max),
					seen, rounds[len(rounds)/2], rounds[len(rounds)-1])
			}
		}
	}
	w("\n")
	for _, c := range cr.Configs {
		for _, sc := range clusterScenarios {
			n, stranded := 0, 0
			var per []string
			for _, iv := range cr.Intervals {
				k, all := 0, 0
				for _, x := range cr.Outcomes[c][iv.String()][sc] {
					all++
					if x.Restarted {
						k++
					}
					if x.Stranded {
						stranded++
					}
				}
				n += k
				per = append(per, fmt.Sprintf("%d of %d at %v", k, all, iv))
			}
			if n == 0 {
				continue
			}
			if sc == Partition {
				w("%s: the client was not answered by server1 alone within the bound after the partition healed in %s", clusterName(c), strings.Join(per, ", "))
			} else {
				w("%s did not come back to server1 by itself after the %s in %s (the bench restarted server1's daemon then)", clusterName(c), sc, strings.Join(per, ", "))
			}
			if stranded > 0 {
				w(";\nin %d of them the address was on server1 alone, but the client's neighbour entry for it still named\nanother server's MAC (the lab's client re-resolves only when told: see `internal/lab`)", stranded)
			}
			w(".\n\n")
		}
	}
	if cost := arbiterCost(cr); cost != "" {
		w("**What the arbiter costs in failover time**: the median outage with it less the median without\n")
		w("(with the arbiter a standby takes over only once the primary's lease has expired in etcd):\n\n%s\n", cost)
	}
}

func clusterName(c string) string {
	if n, ok := clusterNames[c]; ok {
		return n
	}
	return c
}

// outMin is the shortest outage of v.
func outMin(v []outcome) time.Duration {
	return slices.Min(outages(v))
}

// arbiterCost writes, per interval, what the arbiter added to the power
// off's and the hung primary's median outage, "" when either side was
// not measured.
func arbiterCost(cr *clusterRun) string {
	var b strings.Builder
	for _, iv := range cr.Intervals {
		for _, sc := range []string{PowerOff, Hung} {
			with := cr.Outcomes["ipfailover-arbiter"][iv.String()][sc]
			without := cr.Outcomes["ipfailover"][iv.String()][sc]
			if len(with) == 0 || len(without) == 0 {
				continue
			}
			sw, so := summarize(outages(with)), summarize(outages(without))
			fmt.Fprintf(&b, "- %v, %s: %+.1f ms: %s ms with the arbiter (%s–%s), %s ms without (%s–%s)", iv, sc,
				float64(sw.median-so.median)/float64(time.Millisecond), fmtMS(sw.median), fmtMS(outMin(with)), fmtMS(sw.max),
				fmtMS(so.median), fmtMS(outMin(without)), fmtMS(so.max))
			if k := cr.Outcomes["keepalived"][iv.String()][sc]; len(k) > 0 {
				fmt.Fprintf(&b, "; keepalived %s ms", fmtMS(summarize(outages(k)).median))
			}
			b.WriteString(".\n")
		}
	}
	return b.String()
}
