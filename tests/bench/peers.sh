#!/usr/bin/env bash
# Side-by-side benchmark of edge and its peers (Caddy, nginx, HAProxy) on loopback.
#
#   tests/bench/peers.sh                   # from the repo root; needs root for apt-get and /etc/hosts
#   BENCH_SECONDS=5 BENCH_RUNS=5 BENCH_OUT=/tmp/bench.md tests/bench/peers.sh
#
# Every server gets the SAME generated ECDSA sites (tests/bench/gen, schema/sitegen) and
# proxies to the SAME backend (tests/bench/backend). Every server is started once, then
# BENCH_RUNS rounds run the rows interleaved (edge 1k, caddy, nginx, haproxy, edge 10k,
# edge 1, then again), each row-run taking, after recording the 1-minute load average:
#   h2 req/s        h2load -t1 -c$BENCH_CONNS -m$BENCH_STREAMS, keep-alive
#   h1 req/s        wrk -t1 -c$BENCH_CONNS, keep-alive
#   new TLS conn/s  wrk -t1 -c$BENCH_CONNS -H 'Connection: close' (one full handshake per
#                   request: wrk does not resume sessions)
#   h1 8k, h1 64k   wrk -t1 -c$BENCH_CONNS on /8k and /64k (req/s; MB/s = req/s x body)
#   p99             rateload (tests/bench/rateload): h2 GETs at a fixed BENCH_RPS in total
#                   over BENCH_RPS_CONNS connections, p99 latency from each request's
#                   scheduled time to the end of its body
#   p99 swap        the same while the server swaps its configuration every BENCH_SWAP_EVERY
#                   seconds: edge commits a change to the target site in its config repo and
#                   gets SIGHUP (poll now), and the swap ends when /status serves that commit;
#                   nginx SIGHUP (reload); HAProxy (master-worker, -W) SIGUSR2; caddy reload
#                   --force.
# Rows: edge with $BENCH_SITES sites (1000), the three peers with the same sites, edge with
# $BENCH_BIG_SITES sites (10000) and edge with one site. Requests go to one fixed site in the
# middle of each set, by SNI and Host. The report gives each figure's median over the runs
# with min-max, the ratios of the medians, the load averages, the tool versions, the time
# from start to ready, the RSS after the first round's load (before its swaps) and at the end.
# Each edge row starts cold (an empty state dir: clone, evaluate every site) and then
# BENCH_RESTARTS times warm (the state dir the last start left: accepted revision and
# evaluation cache); the last start serves the rounds. The report gives each kind's time from
# start to /readyz 200 and the RSS at that moment and 3 s later.
#
# Why rateload and not h2load --rps: at a reload the peers send GOAWAY and h2load never
# reconnects (its clients stop: "Process Request Failure"), so their swap figure would
# cover the requests of the connections that survived. rateload's connections dial again
# and retry, as browsers do, and it charges a stall to every request scheduled during it.
#
# Caveats: the load generator and the server share the machine's cores (2 on the dev box),
# so the figures are for comparing rows, not absolute capacity. HAProxy does not route by
# Host (all sites share one backend); the others do. The peers reload their whole
# configuration unchanged; edge swaps in a changed one.
#
# Environment: BENCH_SECONDS (10) per measurement, BENCH_WARMUP (1) seconds before each,
# BENCH_RUNS (3) rounds, BENCH_CONNS (50), BENCH_STREAMS (10, h2 streams per connection),
# BENCH_RPS (1000, the fixed rate of the p99 columns), BENCH_RPS_CONNS (10),
# BENCH_SWAP_EVERY (2), BENCH_SITES (1000), BENCH_BIG_SITES (10000; 0 skips the row),
# BENCH_RESTARTS (3 warm starts of each edge row; BENCH_RUNS=0 measures only the starts),
# BENCH_OUT (also write the report there), BENCH_ONLY (space-separated rows to run, e.g.
# "edge1k caddy"), BENCH_KEEP=1 keeps the work directory (raw outputs: ROW.RUN.COLUMN.txt),
# EDGECTL (a prebuilt edgectl binary), BENCH_PROFILE (a directory: CPU and allocation
# profiles of the edge rows under each load, summarized in the report; peers_profile.sh).
#
# Name resolution: wrk takes SNI from the URL host and must resolve it, so the script
# appends the target host names (127.0.0.1) to /etc/hosts, marked "# edge-bench <pid>",
# and removes exactly those lines on exit. h2load uses --connect-to, rateload -connect.
#
# Missing tools are installed with apt-get (Debian packages caddy nginx haproxy
# nghttp2-client wrk curl git). Not part of CI.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_STREAMS=${BENCH_STREAMS:-10}
BENCH_RPS=${BENCH_RPS:-1000}
BENCH_RPS_CONNS=${BENCH_RPS_CONNS:-10}
BENCH_SWAP_EVERY=${BENCH_SWAP_EVERY:-2}
BENCH_SITES=${BENCH_SITES:-1000}
BENCH_BIG_SITES=${BENCH_BIG_SITES:-10000}
BENCH_RESTARTS=${BENCH_RESTARTS:-3}
BENCH_ONLY=${BENCH_ONLY:-"edge1k caddy nginx haproxy edge10k edge1"}
BENCH_TAG=bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ROWS is the order of the rows in a round and in the report.
ROWS="edge1k caddy nginx haproxy edge10k edge1"
# COLS are the figures of a row-run.
COLS="h2 h1 conn k8 k64 p99 swap"
# CLK_TCK: the clock ticks per second of /proc/PID/stat (cpu_figs).
CLK_TCK=$(getconf CLK_TCK)

# wait_site NAME PID HOST PORT CA [TIMEOUT]: wait until HOST answers 200 over h2 and h1 with a
# certificate for HOST signed by CA (so SNI picked the right site).
wait_site() {
	local name=$1 pid=$2 host=$3 port=$4 ca=$5 timeout=${6:-120} i got
	for ((i = 0; i < timeout * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited; see $WORK/$name.log: $(tail -5 "$WORK/$name.log")"
		got=$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --max-time 5 --cacert "$ca" \
			--resolve "$host:$port:127.0.0.1" "https://$host:$port/" || true)
		if [[ $got == "200 2" ]]; then
			got=$(curl -s -o /dev/null -w '%{http_code} %{http_version}' --max-time 5 --http1.1 \
				--cacert "$ca" --resolve "$host:$port:127.0.0.1" "https://$host:$port/" || true)
			[[ $got == "200 1.1" ]] || die "$name: HTTP/1.1 check answered '$got'"
			return 0
		fi
		sleep 0.2
	done
	die "$name: no 200 over h2 from https://$host:$port/ after ${timeout}s (last: '$got'); see $WORK/$name.log"
}

# wait_ready NAME PID ADMIN TIMEOUT: wait for edge's /readyz, polling every 50 ms (the
# start-to-ready figures are about a second).
wait_ready() {
	local name=$1 pid=$2 url=http://$3/readyz timeout=$4 i got
	for ((i = 0; i < timeout * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited; see $WORK/$name.log: $(tail -5 "$WORK/$name.log")"
		got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
		[[ $got == 200 ]] && return 0
		sleep 0.05
	done
	die "$name: $url answered '$got', not 200, after ${timeout}s; see $WORK/$name.log"
}

# rss_mb PID: resident memory of PID and its children (nginx and HAProxy workers) in MiB.
rss_mb() {
	local pids
	pids=$(
		echo "$1"
		pgrep -P "$1" || true
	)
	ps -o rss= -p "$(paste -sd, <<<"$pids")" 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s/1024}'
}

# num N: N rounded to an integer, or - if not positive.
num() { awk -v a="$1" 'BEGIN { if (a > 0) printf "%.0f", a; else printf "-" }'; }

declare -A FIG NOTE READY RSS RSS_LOAD LOADS PORT PID HOST DIR ADMIN SWAPS SWAPT START START_RSS START_RSS3 START_LOAD

# note ROW TEXT records a problem seen while measuring ROW.
note() { NOTE[$1]="${NOTE[$1]:-}${NOTE[$1]:+; }$2"; }

# add_fig ROW COL VALUE appends one run's figure.
add_fig() { FIG[$1,$2]="${FIG[$1,$2]:-}${FIG[$1,$2]:+ }$3"; }

wanted() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

target_host() { sed -n "$(($2 / 2 + 1))p" "$1/hosts.txt"; }

# CA ROW: the CA file of ROW's sites.
ca_of() { echo "${DIR[$1]}/ca.pem"; }

# check_sizes ROW: /8k and /64k come through ROW's server whole, over HTTP/1.1.
check_sizes() {
	local row=$1 k got
	for k in 8 64; do
		got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 10 --http1.1 --cacert "$(ca_of "$row")" \
			--resolve "${HOST[$row]}:${PORT[$row]}:127.0.0.1" "https://${HOST[$row]}:${PORT[$row]}/${k}k" || true)
		[[ $got == "200 $((k * 1024))" ]] || die "$row: GET /${k}k answered '$got'; want 200 and $((k * 1024)) bytes"
	done
}

# start_edge ROW DIR N: start an agent on the N sites of DIR with an empty state dir (cold:
# clone, evaluate every site, no cache), then BENCH_RESTARTS times again on the state dir it
# left (warm: the accepted revision and the evaluation cache), and wait until the last one
# serves. Each start records its time to ready and its RSS at ready and 3 s later.
start_edge() {
	local row=$1 dir=$2 n=$3 port admin host i
	free_port port
	free_port admin
	host=$(target_host "$dir" "$n")
	add_host "$host"
	PORT[$row]=$port HOST[$row]=$host DIR[$row]=$dir ADMIN[$row]=127.0.0.1:$admin
	log "$row: edge with $n sites, target $host, cold start"
	start_edge_once "$row" "$n" cold
	READY[$row]=$(awk -v a="${START[$row,cold]}" 'BEGIN {printf "%.1f", a}')
	for ((i = 1; i <= BENCH_RESTARTS; i++)); do
		stop "${PID[$row]}"
		log "$row: warm start $i of $BENCH_RESTARTS"
		start_edge_once "$row" "$n" warm
	done
	wait_site "$row" "${PID[$row]}" "$host" "$port" "$dir/ca.pem"
	check_sizes "$row"
}

# start_edge_once ROW N KIND: start ROW's agent on its state dir and wait until /readyz
# answers 200; append the seconds from start to ready to START[ROW,KIND], its RSS then and
# 3 s later to START_RSS[ROW,KIND] and START_RSS3[ROW,KIND], and the load average before it
# to START_LOAD[ROW,all].
start_edge_once() {
	local row=$1 n=$2 kind=$3 t0 ready
	add_start START_LOAD "$row" all "$(cut -d' ' -f1 /proc/loadavg)"
	t0=$(date +%s.%N)
	local pprof=()
	if profiling "$row"; then pprof=(--debug-pprof); fi
	start "$row" "$EDGECTL" agent --repo "${DIR[$row]}/repo" --key-dir "${DIR[$row]}/keys" \
		--listen "127.0.0.1:${PORT[$row]}" --http-listen off --admin "${ADMIN[$row]}" --access-log off \
		--interval 1h --state-dir "$WORK/$row-state" "${pprof[@]}"
	PID[$row]=$LAST_PID
	wait_ready "$row" "$LAST_PID" "${ADMIN[$row]}" $((120 + n / 20))
	ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b-a}')
	add_start START "$row" "$kind" "$ready"
	add_start START_RSS "$row" "$kind" "$(rss_mb "$LAST_PID")"
	sleep 3
	add_start START_RSS3 "$row" "$kind" "$(rss_mb "$LAST_PID")"
	# the agent's own breakdown of the start (poll = clone, load = evaluation and checks, keys,
	# compile, publish), from its "reconciled" log line
	log "$row: $kind start ready after ${ready}s; $(grep -o 'took_ms\..*' "$WORK/$row.log" | tail -n 1)"
}

# add_start ARRAY ROW KIND VALUE appends one start's figure to ARRAY[ROW,KIND].
add_start() {
	local -n arr=$1
	arr[$2,$3]="${arr[$2,$3]:-}${arr[$2,$3]:+ }$4"
}

# start_peer ROW: start Caddy, nginx or HAProxy on the BENCH_SITES set and wait until it serves.
start_peer() {
	local row=$1 peers=$SET1K/peers host t0
	host=$(target_host "$SET1K" "$BENCH_SITES")
	add_host "$host"
	log "$row: $BENCH_SITES sites, target $host"
	t0=$(date +%s.%N)
	case $row in
	caddy)
		mkdir -p "$WORK/caddy-home"
		start caddy env HOME="$WORK/caddy-home" XDG_DATA_HOME="$WORK/caddy-home" XDG_CONFIG_HOME="$WORK/caddy-home" \
			caddy run --adapter caddyfile --config "$peers/Caddyfile"
		;;
	nginx) start nginx nginx -p "$peers" -c "$peers/nginx.conf" -g 'daemon off;' ;;
	haproxy) start haproxy haproxy -W -db -f "$peers/haproxy.cfg" ;;
	esac
	PID[$row]=$LAST_PID HOST[$row]=$host DIR[$row]=$SET1K
	wait_site "$row" "$LAST_PID" "$host" "${PORT[$row]}" "$SET1K/ca.pem"
	READY[$row]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}')
	check_sizes "$row"
}

# shellcheck source=tests/bench/peers_run.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers_run.sh"
# shellcheck source=tests/bench/peers_report.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers_report.sh"
# shellcheck source=tests/bench/peers_profile.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers_profile.sh"

# generate BACKEND: the site sets of the wanted rows (+ the peers' configs).
generate() {
	local backend=$1
	SET1K=$WORK/sites-$BENCH_SITES
	log "generating $BENCH_SITES sites (+ peer configs)"
	"$WORK/bin/gen" -out "$SET1K" -n "$BENCH_SITES" -backend "$backend" -peers -caddy-port "${PORT[caddy]}" \
		-nginx-port "${PORT[nginx]}" -haproxy-port "${PORT[haproxy]}" -caddy-admin "$CADDY_ADMIN"
	if ((BENCH_BIG_SITES > 0)) && wanted edge10k; then
		log "generating $BENCH_BIG_SITES sites"
		"$WORK/bin/gen" -out "$WORK/sites-$BENCH_BIG_SITES" -n "$BENCH_BIG_SITES" -backend "$backend"
	else
		BENCH_ONLY=${BENCH_ONLY//edge10k/}
	fi
	if wanted edge1; then "$WORK/bin/gen" -out "$WORK/sites-1" -n 1 -backend "$backend"; fi
}

main() {
	[[ $(id -u) == 0 ]] || die "run as root (apt-get, /etc/hosts)"
	# The Debian packages may start their system services; those listen on :80 only and are
	# left alone.
	ensure_tools caddy:caddy nginx:nginx haproxy:haproxy h2load:nghttp2-client wrk:wrk curl:curl git:git
	cd "$ROOT"
	build_bins gen backend rateload
	if [[ -n ${BENCH_PROFILE:-} ]]; then mkdir -p "$BENCH_PROFILE"; fi

	local backend row peer_port run
	free_port backend
	BACKEND=127.0.0.1:$backend
	for row in caddy nginx haproxy; do
		free_port peer_port
		PORT[$row]=$peer_port
	done
	free_port CADDY_ADMIN
	start backend "$WORK/bin/backend" -listen "$BACKEND"
	wait_200 backend "$LAST_PID" 120 "http://$BACKEND/"
	generate "$BACKEND"

	if wanted edge1k; then start_edge edge1k "$SET1K" "$BENCH_SITES"; fi
	for row in caddy nginx haproxy; do
		if wanted "$row"; then start_peer "$row"; fi
	done
	if wanted edge10k; then start_edge edge10k "$WORK/sites-$BENCH_BIG_SITES" "$BENCH_BIG_SITES"; fi
	if wanted edge1; then start_edge edge1 "$WORK/sites-1" 1; fi

	for ((run = 1; run <= BENCH_RUNS; run++)); do
		for row in $ROWS; do
			if wanted "$row"; then measure_run "$row" "$run"; fi
		done
	done
	for row in $ROWS; do
		if wanted "$row"; then RSS[$row]=$(rss_mb "${PID[$row]}"); fi
	done

	emit_report "${BENCH_OUT:-}" report
}

# Sourced (tests/bench/compress.sh reuses the helpers above), main does not run.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
