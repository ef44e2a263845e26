#!/usr/bin/env bash
# HTTP/1.1 server A/B: edge's own HTTP/1.1 loop (--http1-server edge, the default) against
# net/http's server (--http1-server go), same binary, same sites.
#
#   tests/bench/h1serve.sh                      # from the repo root
#   BENCH_RUNS=7 BENCH_REQUESTS=50000 tests/bench/h1serve.sh
#
# Two agents per row, one of each server, on the same site set: "proxy" (BENCH_SITES
# generated sites, 1,000 by default, proxying to tests/bench/backend; GET / and GET /8k) and
# "static" (one site serving a 1 KiB file from a directory). Each run loads BOTH agents AT
# ONCE with h2load --h1 -t1 -c$BENCH_CONNS -n$BENCH_REQUESTS each, so the machine's other
# load weighs on both alike (a shared 2-core machine moves the figures of one-at-a-time runs
# more than the difference measured), and reports per request of each agent's process:
#   cpu-µs   user + system CPU time (/proc/PID/stat utime + stime)
#   syscr    read system calls (/proc/PID/io)
#   syscw    write system calls
# then the medians over BENCH_RUNS runs, and the median of the per-run differences.
# Needs h2load and curl; no root (the agents are reached by --connect-to).
set -euo pipefail

BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_REQUESTS=${BENCH_REQUESTS:-40000}
BENCH_CONNS=${BENCH_CONNS:-50}
BENCH_SITES=${BENCH_SITES:-1000}
BENCH_TAG=h1serve LOG_TAG=h1serve-bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -A PORT PID

# start_agent NAME SET SERVER: an agent on the site set SET with --http1-server SERVER.
start_agent() {
	local name=$1 set=$2 server=$3 port admin
	free_port port
	free_port admin
	start "$name" "$EDGECTL" agent --repo "$set/repo" --key-dir "$set/keys" --listen "127.0.0.1:$port" \
		--http-listen off --admin "127.0.0.1:$admin" --access-log off --interval 1h \
		--state-dir "$WORK/$name-state" --http1-server "$server"
	PORT[$name]=$port PID[$name]=$LAST_PID
	wait_200 "$name" "$LAST_PID" 300 "http://127.0.0.1:$admin/readyz"
}

# counters PID: "cpu-ticks syscr syscw" of PID so far.
counters() {
	echo "$(awk '{print $14+$15}' "/proc/$1/stat") $(awk '/^syscr/ {r=$2} /^syscw/ {w=$2} END {print r, w}' "/proc/$1/io")"
}

# per_request BEFORE AFTER: "cpu-µs syscr syscw" per request between two counters.
per_request() {
	awk -v x="$1" -v y="$2" -v t="$(getconf CLK_TCK)" -v n="$BENCH_REQUESTS" 'BEGIN {
		split(x, a, " "); split(y, b, " ")
		printf "%.1f %.2f %.2f", (b[1]-a[1])/t*1e6/n, (b[2]-a[2])/n, (b[3]-a[3])/n }'
}

# measure ROW HOST PATH: BENCH_RUNS paired runs of ROW's two agents on https://HOST/PATH.
measure() {
	local row=$1 host=$2 path=$3 run g0 e0 g1 e1 jg je go edge cg=() ce=() d=()
	for ((run = 1; run <= BENCH_RUNS; run++)); do
		g0=$(counters "${PID[$row-go]}") e0=$(counters "${PID[$row-edge]}")
		h2load --h1 -t1 -c"$BENCH_CONNS" -n"$BENCH_REQUESTS" --connect-to="127.0.0.1:${PORT[$row-go]}" \
			"https://$host:${PORT[$row-go]}$path" >"$WORK/$row-go.$run.txt" 2>&1 &
		jg=$!
		h2load --h1 -t1 -c"$BENCH_CONNS" -n"$BENCH_REQUESTS" --connect-to="127.0.0.1:${PORT[$row-edge]}" \
			"https://$host:${PORT[$row-edge]}$path" >"$WORK/$row-edge.$run.txt" 2>&1 &
		je=$!
		wait "$jg" "$je" || true
		g1=$(counters "${PID[$row-go]}") e1=$(counters "${PID[$row-edge]}")
		go=$(per_request "$g0" "$g1") edge=$(per_request "$e0" "$e1")
		for f in "$WORK/$row-go.$run.txt" "$WORK/$row-edge.$run.txt"; do
			p=$(h2load_problems "$(cat "$f")")
			[[ -z $p ]] || log "$row $path run $run: $(basename "$f"): $p"
		done
		printf '%-7s %-8s run %d  go: %s  edge: %s  (cpu-µs syscr syscw per request; load %s)\n' \
			"$row" "$path" "$run" "$go" "$edge" "$(cut -d' ' -f1 /proc/loadavg)"
		cg+=("${go%% *}") ce+=("${edge%% *}")
		d+=("$(awk -v a="${go%% *}" -v b="${edge%% *}" 'BEGIN {print b-a}')")
	done
	printf '%-7s %-8s median cpu-µs/request: go %s, edge %s; median difference %s µs\n' "$row" "$path" \
		"$(median "${cg[*]}")" "$(median "${ce[*]}")" "$(median "${d[*]}")"
}

main() {
	command -v h2load >/dev/null || die "h2load is needed (apt-get install nghttp2-client)"
	build_bins gen backend
	local backend site
	free_port backend
	start backend "$WORK/bin/backend" -listen "127.0.0.1:$backend"
	wait_200 backend "$LAST_PID" 60 "http://127.0.0.1:$backend/"
	"$WORK/bin/gen" -out "$WORK/proxy" -n "$BENCH_SITES" -backend "127.0.0.1:$backend" >/dev/null
	mkdir -p "$WORK/files"
	head -c 1024 /dev/urandom >"$WORK/files/1k.bin"
	"$WORK/bin/gen" -out "$WORK/static" -n 1 -domain static.bench.test -backend 127.0.0.1:9 >/dev/null
	site=$(ls "$WORK/static/repo/sites/"*.cue)
	sed -i -E "s#routes: \"/\": upstreams: .*#routes: \"/\": static: dir: \"$WORK/files\"#" "$site"
	git -C "$WORK/static/repo" add -A
	git -C "$WORK/static/repo" -c user.name=bench -c user.email=bench@bench.test -c commit.gpgsign=false commit -qm static
	for server in go edge; do
		start_agent "proxy-$server" "$WORK/proxy" "$server"
		start_agent "static-$server" "$WORK/static" "$server"
	done
	measure proxy "$(sed -n "$((BENCH_SITES / 2 + 1))p" "$WORK/proxy/hosts.txt")" /
	measure proxy "$(sed -n "$((BENCH_SITES / 2 + 1))p" "$WORK/proxy/hosts.txt")" /8k
	measure static "$(head -1 "$WORK/static/hosts.txt")" /1k.bin
}

main "$@"
