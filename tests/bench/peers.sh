#!/usr/bin/env bash
# Side-by-side benchmark of edge and its peers (Caddy, nginx, HAProxy) on loopback.
#
#   tests/bench/peers.sh                   # from the repo root; needs root for apt-get and /etc/hosts
#   BENCH_SECONDS=5 BENCH_OUT=/tmp/bench.md tests/bench/peers.sh
#
# Every server gets the SAME generated ECDSA sites (tests/bench/gen, schema/sitegen) and
# proxies to the SAME tiny backend (tests/bench/backend). For each server, one at a time:
#   h2 req/s       h2load -t1 -c$BENCH_CONNS -m$BENCH_STREAMS, keep-alive
#   h1 req/s       wrk -t1 -c$BENCH_CONNS, keep-alive
#   new TLS conn/s wrk -t1 -c$BENCH_CONNS -H 'Connection: close' (one full handshake per
#                  request: wrk does not resume sessions)
# Rows: edge with $BENCH_SITES sites (1000), the three peers with the same sites, edge with
# $BENCH_BIG_SITES sites (10000) and edge with one site. Requests go to one fixed site in the
# middle of each set, by SNI and Host.
#
# Caveats: the load generator and the server share the machine's cores (2 on the dev box),
# so the figures are for comparing rows, not absolute capacity. HAProxy does not route by
# Host (all sites share one backend); the others do.
#
# Environment: BENCH_SECONDS (10) per measurement, BENCH_WARMUP (1) seconds before each,
# BENCH_CONNS (50), BENCH_STREAMS (10, h2 streams per connection), BENCH_SITES (1000),
# BENCH_BIG_SITES (10000; 0 skips the row), BENCH_OUT (also write the report there),
# BENCH_ONLY (space-separated rows to run, e.g. "edge1k caddy"), BENCH_KEEP=1 keeps the work
# directory, EDGECTL (a prebuilt edgectl binary).
#
# Name resolution: wrk takes SNI from the URL host and must resolve it, so the script
# appends the target host names (127.0.0.1) to /etc/hosts, marked "# edge-bench <pid>",
# and removes exactly those lines on exit. h2load uses --connect-to instead.
#
# Missing tools are installed with apt-get (Debian packages caddy nginx haproxy
# nghttp2-client wrk curl git). Not part of CI.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_STREAMS=${BENCH_STREAMS:-10}
BENCH_SITES=${BENCH_SITES:-1000}
BENCH_BIG_SITES=${BENCH_BIG_SITES:-10000}
BENCH_ONLY=${BENCH_ONLY:-"edge1k caddy nginx haproxy edge10k edge1"}
# shellcheck source=tests/bench/lib.sh
BENCH_TAG=bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

# wait_ready NAME PID ADMIN TIMEOUT: wait for edge's /readyz.
wait_ready() { wait_200 "$1" "$2" "$4" "http://$3/readyz"; }

declare -A RES NOTE READY RSS LOAD

# note ROW TEXT records a problem seen while measuring ROW.
note() { NOTE[$1]="${NOTE[$1]:-}${NOTE[$1]:+; }$2"; }

# measure ROW HOST PORT PID: the three figures for one running server.
measure() {
	local row=$1 host=$2 port=$3 pid=$4 out f
	local url="https://$host:$port/"
	LOAD[$row]=$(cut -d' ' -f1 /proc/loadavg)

	log "$row: h2load h2 keep-alive"
	out=$(h2load -t1 -c"$BENCH_CONNS" -m"$BENCH_STREAMS" -D "$BENCH_SECONDS" --warm-up-time="$BENCH_WARMUP" \
		--connect-to="127.0.0.1:$port" "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.h2load.txt"
	f=$(h2load_rps "$out")
	RES[$row,h2]=${f:-0}
	f=$(h2load_problems "$out")
	[[ -z $f ]] || note "$row" "h2load: $f"
	grep -q 'Application protocol: h2' <<<"$out" || note "$row" "h2load did not negotiate h2"

	log "$row: wrk h1 keep-alive"
	out=$(wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.wrk-h1.txt"
	check_wrk "$row" h1 "$out"

	log "$row: wrk new TLS connection per request"
	out=$(wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" -H 'Connection: close' "$url" 2>&1 || true)
	echo "$out" >"$WORK/$row.wrk-conn.txt"
	check_wrk "$row" conn "$out"

	RSS[$row]=$(rss_mb "$pid")
}

check_wrk() {
	local row=$1 col=$2 out=$3 f
	f=$(wrk_rps "$out")
	RES[$row,$col]=${f:-0}
	f=$(wrk_problems "$out")
	[[ -z $f ]] || note "$row" "wrk $col: $f"
}

# rss_mb PID: resident memory of PID and its children (nginx workers) in MiB.
rss_mb() {
	local pids
	pids=$(
		echo "$1"
		pgrep -P "$1" || true
	)
	# shellcheck disable=SC2086
	ps -o rss= -p $(echo $pids | tr ' ' ',') 2>/dev/null | awk '{s+=$1} END {printf "%.0f", s/1024}'
}

target_host() { sed -n "$(($2 / 2 + 1))p" "$1/hosts.txt"; }

run_edge() {
	local row=$1 dir=$2 n=$3 port admin host t0 timeout
	wanted "$row" || return 0
	free_port port
	free_port admin
	host=$(target_host "$dir" "$n")
	add_host "$host"
	log "$row: edge with $n sites, target $host"
	t0=$(date +%s.%N)
	start "$row" "$EDGECTL" agent --repo "$dir/repo" --key-dir "$dir/keys" --listen "127.0.0.1:$port" \
		--http-listen off --admin "127.0.0.1:$admin" --access-log off --interval 1h
	local pid=$LAST_PID
	timeout=$((120 + n / 20))
	wait_ready "$row" "$pid" "127.0.0.1:$admin" "$timeout"
	READY[$row]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}')
	wait_site "$row" "$pid" "$host" "$port" "$dir/ca.pem"
	measure "$row" "$host" "$port" "$pid"
	stop "$pid"
}

run_peer() {
	local row=$1 port=$2 host t0 pid
	wanted "$row" || return 0
	local peers=$SET1K/peers
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
	nginx)
		start nginx nginx -p "$peers" -c "$peers/nginx.conf" -g 'daemon off;'
		;;
	haproxy)
		start haproxy haproxy -db -f "$peers/haproxy.cfg"
		;;
	esac
	pid=$LAST_PID
	wait_site "$row" "$pid" "$host" "$port" "$SET1K/ca.pem"
	READY[$row]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b-a}')
	measure "$row" "$host" "$port" "$pid"
	stop "$pid"
}

wanted() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

num() { awk -v a="$1" 'BEGIN { if (a > 0) printf "%.0f", a; else printf "-" }'; }

report() {
	local row label
	declare -A LABEL=([edge1k]="edge, $BENCH_SITES sites" [caddy]="caddy $(caddy version | awk '{print $1}')"
		[nginx]="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" [haproxy]="haproxy $(haproxy -v | awk 'NR==1 {print $3}')"
		[edge10k]="edge, $BENCH_BIG_SITES sites" [edge1]="edge, 1 site")
	echo "## edge vs peers, loopback, $(nproc) cores shared with the load generator"
	echo
	echo "$(date -u +%FT%TZ), ${BENCH_SECONDS}s per figure, $BENCH_CONNS connections (h2: $BENCH_STREAMS streams each), ECDSA P-256, one load-generator thread. Peers serve the same $BENCH_SITES sites."
	echo
	echo "| server | h2 req/s | h1 req/s | new TLS conn/s | ready after (s) | RSS after (MiB) | load avg before |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for row in edge1k caddy nginx haproxy edge10k edge1; do
		wanted "$row" || continue
		[[ -n ${RES[$row,h2]:-} ]] || continue
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$row]}" "$(num "${RES[$row,h2]}")" \
			"$(num "${RES[$row,h1]}")" "$(num "${RES[$row,conn]}")" "${READY[$row]:-}" "${RSS[$row]:-}" "${LOAD[$row]:-}"
	done
	echo
	echo "The benchmark itself keeps the 1-minute load average near 2; well above that, other work shared the cores: compare such rows with care."
	echo
	if [[ -n ${RES[edge1k,h2]:-} ]]; then
		echo "| edge ($BENCH_SITES sites) / other | h2 | h1 | new TLS conn |"
		echo "|---|---:|---:|---:|"
		for row in caddy nginx haproxy edge10k edge1; do
			[[ -n ${RES[$row,h2]:-} ]] || continue
			printf '| / %s | %s | %s | %s |\n' "${LABEL[$row]}" "$(ratio "${RES[edge1k,h2]}" "${RES[$row,h2]}")" \
				"$(ratio "${RES[edge1k,h1]}" "${RES[$row,h1]}")" "$(ratio "${RES[edge1k,conn]}" "${RES[$row,conn]}")"
		done
		echo
	fi
	if [[ -n ${RES[edge10k,h2]:-} && -n ${RES[edge1,h2]:-} ]]; then
		printf 'edge %s sites / edge 1 site: h2 %s, h1 %s, new TLS conn %s\n\n' "$BENCH_BIG_SITES" \
			"$(ratio "${RES[edge10k,h2]}" "${RES[edge1,h2]}")" "$(ratio "${RES[edge10k,h1]}" "${RES[edge1,h1]}")" \
			"$(ratio "${RES[edge10k,conn]}" "${RES[edge1,conn]}")"
	fi
	local any=0
	for row in edge1k caddy nginx haproxy edge10k edge1; do
		if [[ -n ${NOTE[$row]:-} ]]; then
			((any++)) || echo "Notes (errors seen by the load generator):"
			echo "- ${LABEL[$row]}: ${NOTE[$row]}"
		fi
	done
	return 0
}

main() {
	[[ $(id -u) == 0 ]] || die "run as root (apt-get, /etc/hosts)"
	# The Debian packages may start their system services; those listen on :80 only and are
	# left alone.
	ensure_tools caddy:caddy nginx:nginx haproxy:haproxy h2load:nghttp2-client wrk:wrk curl:curl git:git
	cd "$ROOT"
	build_bins gen backend

	local backend caddy_port nginx_port haproxy_port
	free_port backend
	backend=127.0.0.1:$backend
	free_port caddy_port
	free_port nginx_port
	free_port haproxy_port
	start backend "$WORK/bin/backend" -listen "$backend"
	wait_200 backend "$LAST_PID" 120 "http://$backend/"

	SET1K=$WORK/sites-$BENCH_SITES
	log "generating $BENCH_SITES sites (+ peer configs)"
	"$WORK/bin/gen" -out "$SET1K" -n "$BENCH_SITES" -backend "$backend" -peers \
		-caddy-port "$caddy_port" -nginx-port "$nginx_port" -haproxy-port "$haproxy_port"
	if ((BENCH_BIG_SITES > 0)) && wanted edge10k; then
		log "generating $BENCH_BIG_SITES sites"
		"$WORK/bin/gen" -out "$WORK/sites-$BENCH_BIG_SITES" -n "$BENCH_BIG_SITES" -backend "$backend"
	else
		BENCH_ONLY=${BENCH_ONLY//edge10k/}
	fi
	wanted edge1 && "$WORK/bin/gen" -out "$WORK/sites-1" -n 1 -backend "$backend"

	run_edge edge1k "$SET1K" "$BENCH_SITES"
	run_peer caddy "$caddy_port"
	run_peer nginx "$nginx_port"
	run_peer haproxy "$haproxy_port"
	if wanted edge10k; then run_edge edge10k "$WORK/sites-$BENCH_BIG_SITES" "$BENCH_BIG_SITES"; fi
	run_edge edge1 "$WORK/sites-1" 1

	emit_report "${BENCH_OUT:-}" report
}

# Sourced (tests/bench/compress.sh reuses the helpers above), main does not run.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
