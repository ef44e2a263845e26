#!/usr/bin/env bash
# Benchmark row of issue #13: what the per-site protections cost a request that no rule
# refuses. One edge agent serves two sites from one config repo:
#
#   plain    site00000: routes "/" to one upstream (backend A), nothing else
#   guarded  site00001: the same route, but to a weighted pair (A weight 95, B weight 5),
#            plus the declarations in BENCH_GUARD (an IP rule that admits the load
#            generator, a rate limit it never reaches; see below)
#
# and both are measured in the same run, interleaved (plain, guarded, plain, ...), each
# figure the median of BENCH_RUNS (3) runs:
#   h2 req/s  h2load -t1 -c$BENCH_CONNS -m$BENCH_STREAMS, keep-alive
#   h1 req/s  wrk -t1 -c$BENCH_CONNS, keep-alive
# and the ratios guarded/plain (target: 0.97 or more).
#
#   tests/bench/access.sh                          # from the repo root; needs root for /etc/hosts
#   BENCH_RUNS=5 BENCH_SECONDS=10 tests/bench/access.sh
#
# BENCH_GUARD holds CUE fields added to the guarded site. Its default: an IP rule admitting
# loopback and a rate limit of 100 million requests a second per client, which no load
# generator here reaches. The script checks that the guarded site answers 200 over h2
# and h1 before measuring, so a rule that refuses the load generator fails the run.
#
# Environment: BENCH_SECONDS (8) per measurement, BENCH_WARMUP (1), BENCH_RUNS (3),
# BENCH_CONNS (50), BENCH_STREAMS (10), BENCH_GUARD, BENCH_KEEP=1 keeps the work directory,
# EDGECTL (a prebuilt edgectl binary). Missing tools are installed with apt-get
# (nghttp2-client wrk curl git). Caveats as for peers.sh: the load generator, the backends
# and edge share the machine's cores; compare the two rows of one run. Not part of CI.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-8}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_STREAMS=${BENCH_STREAMS:-10}
BENCH_GUARD=${BENCH_GUARD:-"access: {allow: [\"127.0.0.0/8\", \"::1/128\"]}
	rate_limit: {requests: 100000000, per: \"1s\"}"}
# shellcheck source=tests/bench/lib.sh
BENCH_TAG=accessbench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_tools h2load:nghttp2-client wrk:wrk curl:curl git:git
build_bins gen backend

free_port PORT_A
free_port PORT_B
free_port PORT
free_port ADMIN
start backend-a "$WORK/bin/backend" -listen "127.0.0.1:$PORT_A"
wait_200 backend-a "$LAST_PID" 120 "http://127.0.0.1:$PORT_A/"
start backend-b "$WORK/bin/backend" -listen "127.0.0.1:$PORT_B"
wait_200 backend-b "$LAST_PID" 120 "http://127.0.0.1:$PORT_B/"

log "generating the config repo"
"$WORK/bin/gen" -out "$WORK/sites" -n 2 -backend "127.0.0.1:$PORT_A" >/dev/null
REPO=$WORK/sites/repo
PLAIN=site00000.bench.test
GUARDED=site00001.bench.test
# The guarded site: the plain declaration with the weighted pair and BENCH_GUARD.
cat >"$REPO/sites/site00001.cue" <<CUE
package edge

sites: site00001: {
	hosts: ["site00001.bench.test", "*.site00001.bench.test"]
	cert: "certs/site00001.pem"
	key: path: "edge/site00001"
	$BENCH_GUARD
	routes: "/": upstreams: [
		{url: "http://127.0.0.1:$PORT_A", weight: 95},
		{url: "http://127.0.0.1:$PORT_B", weight: 5},
	]
}
CUE
"$EDGECTL" validate "$REPO" >&2 || die "the guarded site is invalid (BENCH_GUARD?)"
git -C "$REPO" add -A && git -C "$REPO" -c user.name=bench -c user.email=bench@localhost commit -qm guarded

add_host "$PLAIN" "$GUARDED"
start edge "$EDGECTL" agent --repo "$REPO" --key-dir "$WORK/sites/keys" --listen "127.0.0.1:$PORT" \
	--http-listen off --admin "127.0.0.1:$ADMIN" --access-log off --interval 1h
EDGE_PID=$LAST_PID
wait_200 edge "$EDGE_PID" 120 "http://127.0.0.1:$ADMIN/readyz"
for h in $PLAIN $GUARDED; do
	wait_200 edge "$EDGE_PID" 120 "https://$h:$PORT/" --http2 --cacert "$WORK/sites/ca.pem"
	wait_200 edge "$EDGE_PID" 120 "https://$h:$PORT/" --http1.1 --cacert "$WORK/sites/ca.pem"
done
log "edge on 127.0.0.1:$PORT serving $PLAIN (plain) and $GUARDED (guarded); backends A :$PORT_A, B :$PORT_B"

declare -A RES
NOTES=""
note() { NOTES+="$1"$'\n'; }

# measure ROW HOST RUN: one h2 and one h1 figure for HOST.
measure() {
	local row=$1 host=$2 run=$3 out f url="https://$2:$PORT/"
	out=$(h2load -t1 -c"$BENCH_CONNS" -m"$BENCH_STREAMS" -D "$BENCH_SECONDS" --warm-up-time="$BENCH_WARMUP" \
		--connect-to="127.0.0.1:$PORT" "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.$run.h2load.txt"
	f=$(h2load_rps "$out")
	RES[$row,h2]+="${f:-0} "
	f=$(h2load_problems "$out")
	[[ -z $f ]] || note "$row run $run h2load: $f"
	out=$(wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.$run.wrk.txt"
	f=$(wrk_rps "$out")
	RES[$row,h1]+="${f:-0} "
	f=$(wrk_problems "$out")
	[[ -z $f ]] || note "$row run $run wrk: $f"
	log "run $run $row: h2 $(awk '{print $NF}' <<<"${RES[$row,h2]}") req/s, h1 $(awk '{print $NF}' <<<"${RES[$row,h1]}") req/s"
}

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for run in $(seq "$BENCH_RUNS"); do
	# Alternate which row goes first, so that neither always follows the other.
	if ((run % 2)); then order="plain guarded"; else order="guarded plain"; fi
	for row in $order; do
		host=$PLAIN
		[[ $row == guarded ]] && host=$GUARDED
		measure "$row" "$host" "$run"
	done
done

ph2=$(median "${RES[plain,h2]}")
ph1=$(median "${RES[plain,h1]}")
gh2=$(median "${RES[guarded,h2]}")
gh1=$(median "${RES[guarded,h1]}")

echo
echo "## #13 row: a guarded site against the plain site, same edge, same run"
echo
echo "$(date -u +%FT%TZ), $(nproc) cores shared with the load generator, load average before $LOAD_BEFORE;" \
	"medians of $BENCH_RUNS interleaved runs of ${BENCH_SECONDS}s, $BENCH_CONNS connections (h2: $BENCH_STREAMS streams each)."
echo "Guarded site: weighted pair 95/5$(grep -q '^[[:space:]]*//' <<<"$BENCH_GUARD" && echo ' (BENCH_GUARD commented out: no IP rule or rate limit)' || echo " + $(tr '\n\t' '  ' <<<"$BENCH_GUARD")")."
echo
echo "| site | h2 req/s | h1 req/s | h2 runs | h1 runs |"
echo "|---|---:|---:|---|---|"
echo "| plain | $ph2 | $ph1 | ${RES[plain,h2]% } | ${RES[plain,h1]% } |"
echo "| guarded | $gh2 | $gh1 | ${RES[guarded,h2]% } | ${RES[guarded,h1]% } |"
echo "| guarded / plain | $(ratio "$gh2" "$ph2" 3) | $(ratio "$gh1" "$ph1" 3) | | |"
if [[ -n $NOTES ]]; then
	echo
	echo "Errors seen by the load generator:"
	printf '%s' "$NOTES" | sed 's/^/- /'
fi
