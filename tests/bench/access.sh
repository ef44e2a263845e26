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
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/edge-accessbench.XXXXXX)
HOSTS_MARK="# edge-accessbench $$"
PIDS=()

log() { printf '[accessbench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	if grep -qF "$HOSTS_MARK" /etc/hosts 2>/dev/null; then
		local tmp
		tmp=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
		printf '%s\n' "$tmp" >/etc/hosts # in place: /etc/hosts may be a bind mount
	fi
	if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

missing=()
for tool in h2load:nghttp2-client wrk:wrk curl:curl git:git; do
	command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

USED_PORTS=" "
# free_port VAR sets VAR to a free loopback port below the ephemeral range.
free_port() {
	local p
	while :; do
		p=$((12000 + RANDOM % 20000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		[[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) ]] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}

# start NAME CMD... runs CMD in the background (in this shell, so cleanup stops it).
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
}

# wait_200 NAME PID URL [CURL ARGS...]: wait until URL answers 200.
wait_200() {
	local name=$1 pid=$2 url=$3 i got
	shift 3
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited: $(tail -5 "$WORK/$name.log")"
		got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)
		[[ $got == 200 ]] && return 0
		sleep 0.2
	done
	die "$name: $url answered '$got', not 200, after 120s"
}

log "building"
(
	cd "$ROOT"
	if [[ -z ${EDGECTL:-} ]]; then go build -o "$WORK/edgectl" ./cmd/edgectl; fi
	go build -o "$WORK/gen" ./tests/bench/gen
	go build -o "$WORK/backend" ./tests/bench/backend
)
EDGECTL=${EDGECTL:-$WORK/edgectl}

free_port PORT_A
free_port PORT_B
free_port PORT
free_port ADMIN
start backend-a "$WORK/backend" -listen "127.0.0.1:$PORT_A"
wait_200 backend-a "$LAST_PID" "http://127.0.0.1:$PORT_A/"
start backend-b "$WORK/backend" -listen "127.0.0.1:$PORT_B"
wait_200 backend-b "$LAST_PID" "http://127.0.0.1:$PORT_B/"

log "generating the config repo"
"$WORK/gen" -out "$WORK/sites" -n 2 -backend "127.0.0.1:$PORT_A" >/dev/null
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

for h in $PLAIN $GUARDED; do printf '127.0.0.1 %s %s\n' "$h" "$HOSTS_MARK" >>/etc/hosts; done
start edge "$EDGECTL" agent --repo "$REPO" --key-dir "$WORK/sites/keys" --listen "127.0.0.1:$PORT" \
	--http-listen off --admin "127.0.0.1:$ADMIN" --access-log off --interval 1h
EDGE_PID=$LAST_PID
wait_200 edge "$EDGE_PID" "http://127.0.0.1:$ADMIN/readyz"
for h in $PLAIN $GUARDED; do
	wait_200 edge "$EDGE_PID" "https://$h:$PORT/" --http2 --cacert "$WORK/sites/ca.pem"
	wait_200 edge "$EDGE_PID" "https://$h:$PORT/" --http1.1 --cacert "$WORK/sites/ca.pem"
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
	f=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s,.*/\1/p' <<<"$out")
	RES[$row,h2]+="${f:-0} "
	grep -q ' 0 failed, 0 errored' <<<"$out" || note "$row run $run h2load: $(grep '^requests:' <<<"$out" || echo 'no result')"
	grep -qE 'status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$out" || note "$row run $run h2load: $(grep '^status codes:' <<<"$out" || echo 'no status')"
	out=$(wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.$run.wrk.txt"
	f=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
	RES[$row,h1]+="${f:-0} "
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then note "$row run $run wrk: $(grep -E 'Non-2xx|Socket errors' <<<"$out" | xargs)"; fi
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

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ph2=$(median <<<"${RES[plain,h2]}")
ph1=$(median <<<"${RES[plain,h1]}")
gh2=$(median <<<"${RES[guarded,h2]}")
gh1=$(median <<<"${RES[guarded,h1]}")
ratio() { awk -v g="$1" -v p="$2" 'BEGIN {if (p > 0) printf "%.3f", g/p; else print "n/a"}'; }

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
echo "| guarded / plain | $(ratio "$gh2" "$ph2") | $(ratio "$gh1" "$ph1") | | |"
if [[ -n $NOTES ]]; then
	echo
	echo "Errors seen by the load generator:"
	printf '%s' "$NOTES" | sed 's/^/- /'
fi
