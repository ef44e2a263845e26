#!/usr/bin/env bash
# HTTP/3 against HTTP/2 on the same edge, and against Caddy's HTTP/3, on loopback.
#
#   tests/bench/http3.sh                     # from the repo root
#   BENCH_RUNS=5 BENCH_SECONDS=10 tests/bench/http3.sh
#
# One edge agent serves $BENCH_SITES generated ECDSA sites (tests/bench/gen) in front of the
# tiny backend (tests/bench/backend). The load client is tests/bench/h3load: the SAME Go
# client code for both protocols (quic-go's http3.Transport for h3, net/http for h2),
# $BENCH_CONNS connections x $BENCH_STREAMS concurrent streams, GETs back to back to one site
# by SNI and :authority. Each figure is run $BENCH_RUNS times, alternating h3 and h2, and the
# median is reported; h2load's h2 figure is printed for reference. If caddy is installed
# (Debian's 2.6 serves HTTP/3 with "protocols h1 h2 h3"), it serves the same sites and is
# measured the same way. h3load also reads the server's CPU time (/proc/<pid>/stat utime +
# stime) and its own over each measured window, and the report gives both per request
# (medians), which the other work on the machine moves far less than req/s. The client runs
# with GOGC=$BENCH_CLIENT_GOGC (1600) so its GC does not take the cores from the server.
#
# Environment: BENCH_RUNS (3), BENCH_SECONDS (5), BENCH_WARMUP (1s), BENCH_CONNS (10),
# BENCH_STREAMS (10), BENCH_SITES (100), BENCH_CLIENT_GOGC (1600), BENCH_OUT (also write the
# report there), BENCH_KEEP=1 keeps the work directory, EDGECTL (a prebuilt edgectl binary).
# Not part of CI: figures are printed, nothing is asserted.
set -euo pipefail

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CONNS=${BENCH_CONNS:-10}
BENCH_STREAMS=${BENCH_STREAMS:-10}
BENCH_SITES=${BENCH_SITES:-100}
BENCH_CLIENT_GOGC=${BENCH_CLIENT_GOGC:-1600}
# shellcheck source=tests/bench/lib.sh
BENCH_TAG=h3bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# wait_h3 NAME PID HOST PORT: wait until HOST answers over HTTP/3.
wait_h3() {
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$2" 2>/dev/null || die "$1 exited: $(tail -5 "$WORK/$1.log")"
		if "$WORK/bin/h3load" -proto h3 -url "https://$3/" -connect "127.0.0.1:$4" -ca "$SET/ca.pem" \
			-c 1 -m 1 -d 200ms -warmup 0 2>/dev/null | grep -qv ' 0 req/s'; then
			return 0
		fi
		sleep 0.2
	done
	die "$1: no HTTP/3 answer from $3 on port $4"
}

# load PROTO HOST PORT PID: one run of h3load against server PID; prints "req/s server-µs/req
# client-µs/req". Failures are logged.
load() {
	local out
	out=$("$WORK/bin/h3load" -proto "$1" -url "https://$2/" -connect "127.0.0.1:$3" -ca "$SET/ca.pem" \
		-c "$BENCH_CONNS" -m "$BENCH_STREAMS" -d "${BENCH_SECONDS}s" -warmup "${BENCH_WARMUP}s" \
		-server-pid "$4" -gogc "$BENCH_CLIENT_GOGC")
	echo "$out" >>"$WORK/raw.txt"
	[[ $out == *" 0 failed,"* ]] || log "failures: $out"
	sed -n 's/^[a-z0-9]* \([0-9.]*\) req\/s, .* server \([0-9.-]*\) µs\/req, client \([0-9.-]*\) µs\/req$/\1 \2 \3/p' <<<"$out"
}

# measure ROW HOST PORT PID: BENCH_RUNS alternating h3 and h2 runs; RUNS[ROW,PROTO] gets the
# req/s, SCPU[ROW,PROTO] and CCPU[ROW,PROTO] the server's and the client's µs per request.
declare -A RUNS SCPU CCPU
LOADS=""
measure() {
	local i proto r s c
	for ((i = 1; i <= BENCH_RUNS; i++)); do
		LOADS+=" $(cut -d' ' -f1 /proc/loadavg)"
		log "$1: run $i/$BENCH_RUNS (load average ${LOADS##* })"
		for proto in h3 h2; do
			read -r r s c < <(load "$proto" "$2" "$3" "$4")
			RUNS[$1,$proto]+=" ${r:-0}"
			SCPU[$1,$proto]+=" ${s:-0}"
			CCPU[$1,$proto]+=" ${c:-0}"
		done
	done
}

main() {
	cd "$ROOT"
	build_bins backend gen h3load
	local backend edge admin caddy host
	free_port backend
	free_port edge
	free_port admin
	free_port caddy
	start backend "$WORK/bin/backend" -listen "127.0.0.1:$backend"
	SET=$WORK/set
	"$WORK/bin/gen" -out "$SET" -n "$BENCH_SITES" -backend "127.0.0.1:$backend" -peers -caddy-port "$caddy" -nginx-port 1 -haproxy-port 2 >/dev/null
	host=$(sed -n "$((BENCH_SITES / 2 + 1))p" "$SET/hosts.txt")

	log "edge: $BENCH_SITES sites, target $host"
	start edge "$EDGECTL" agent --repo "$SET/repo" --key-dir "$SET/keys" --listen "127.0.0.1:$edge" \
		--http-listen off --admin "127.0.0.1:$admin" --access-log off --interval 1h --state-dir off
	wait_h3 edge "$LAST_PID" "$host" "$edge"
	measure edge "$host" "$edge" "$LAST_PID"
	H2LOAD=$(h2load -t1 -c"$BENCH_CONNS" -m"$BENCH_STREAMS" -D "$BENCH_SECONDS" --warm-up-time="$BENCH_WARMUP" \
		--connect-to="127.0.0.1:$edge" "https://$host/" 2>&1 || true)
	H2LOAD=$(h2load_rps "$H2LOAD")
	# Debian's h2load is built without QUIC: with ALPN h3 it dials TCP and negotiates nothing.
	H2LOAD_H3=$(h2load --npn-list=h3 -n 10 --connect-to="127.0.0.1:$edge" "https://$host/" 2>&1 |
		grep -E 'requests:|No protocol|Application protocol' | tr '\n' ' ' || true)
	stop "$LAST_PID"

	if command -v caddy >/dev/null; then
		log "caddy $(caddy version | awk '{print $1}'): same sites, HTTP/3 on"
		sed 's/protocols h1 h2$/protocols h1 h2 h3/' "$SET/peers/Caddyfile" >"$SET/peers/Caddyfile.h3"
		mkdir -p "$WORK/caddy-home"
		start caddy env HOME="$WORK/caddy-home" XDG_DATA_HOME="$WORK/caddy-home" XDG_CONFIG_HOME="$WORK/caddy-home" \
			caddy run --adapter caddyfile --config "$SET/peers/Caddyfile.h3"
		wait_h3 caddy "$LAST_PID" "$host" "$caddy"
		measure caddy "$host" "$caddy" "$LAST_PID"
	fi
	emit_report "${BENCH_OUT:-}" report
}

report() {
	local row h3 h2
	echo "## HTTP/3 vs HTTP/2, loopback, $(nproc) cores shared with the load generator"
	echo
	echo "$(date -u +%FT%TZ), $BENCH_SITES sites, $BENCH_CONNS connections x $BENCH_STREAMS streams, ${BENCH_SECONDS}s per run, median of $BENCH_RUNS runs (h3load: same Go client for both protocols); 1-minute load average before the runs: $(tr ' ' '\n' <<<"$LOADS" | grep . | sort -g | sed -n '1p;$p' | paste -sd-)."
	echo
	echo "| server | h3 req/s | h2 req/s | h3 / h2 | runs h3 | runs h2 |"
	echo "|---|---:|---:|---:|---|---|"
	for row in edge caddy; do
		[[ -n ${RUNS[$row,h3]:-} ]] || continue
		h3=$(median "${RUNS[$row,h3]}")
		h2=$(median "${RUNS[$row,h2]}")
		printf '| %s | %.0f | %.0f | %s | %s | %s |\n' "$row" "$h3" "$h2" "$(ratio "$h3" "$h2")" "${RUNS[$row,h3]# }" "${RUNS[$row,h2]# }"
	done
	echo
	echo "CPU time per request (user + system, µs; median of the runs): the server's from /proc/<pid>/stat, the client's (h3load, GOGC=$BENCH_CLIENT_GOGC) from getrusage."
	echo
	echo "| server | h3 server | h2 server | h3 / h2 server | h3 client | h2 client | runs h3 server | runs h2 server |"
	echo "|---|---:|---:|---:|---:|---:|---|---|"
	for row in edge caddy; do
		[[ -n ${SCPU[$row,h3]:-} ]] || continue
		h3=$(median "${SCPU[$row,h3]}")
		h2=$(median "${SCPU[$row,h2]}")
		printf '| %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %s |\n' "$row" "$h3" "$h2" "$(ratio "$h3" "$h2")" \
			"$(median "${CCPU[$row,h3]}")" "$(median "${CCPU[$row,h2]}")" "${SCPU[$row,h3]# }" "${SCPU[$row,h2]# }"
	done
	echo
	if [[ -n ${RUNS[caddy,h3]:-} ]]; then
		echo "edge h3 / caddy h3: $(ratio "$(median "${RUNS[edge,h3]}")" "$(median "${RUNS[caddy,h3]}")")"
	fi
	echo "edge h2 by h2load (C client, reference): ${H2LOAD:-n/a} req/s"
	echo "h2load --npn-list=h3: ${H2LOAD_H3:-n/a}"
}

main "$@"
