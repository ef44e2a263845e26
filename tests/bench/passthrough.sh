#!/usr/bin/env bash
# Passthrough benchmark: edge against HAProxy in TCP mode with SNI routing, both in front of
# the SAME TLS backend (a Go tls.Listen server with an ECDSA P-256 certificate; the backend
# terminates TLS, the proxies only read the ClientHello's SNI and copy bytes).
#
#   tests/bench/passthrough.sh        # from the repo root
#   PT_RUNS=5 PT_SECONDS=5 tests/bench/passthrough.sh
#
# Figures, each the median of PT_RUNS runs (3) of PT_SECONDS (5) seconds, alternating the
# two proxies run by run:
#   conn/s  new connections per second: PT_CONNS (16) clients each connecting, doing a full
#           TLS handshake with the backend through the proxy (no resumption), echoing one
#           line, closing
#   raw conn/s  the same without the TLS work: a real ClientHello (Go's, SNI
#           raw.bench.test) sent to a raw TCP echo backend and read back, so the figure is
#           the proxy's own cost per connection (SNI, dial, copy, close)
#   MB/s    PT_BULK_CONNS (4) open connections downloading 64 MiB responses
# and the edge/HAProxy ratio, with each proxy's CPU time (utime+stime from /proc) per
# connection (per MB for MB/s). The edge runs in-process from tests/bench/passthrough (the
# edge package with one passthrough site), so it needs no config repo.
#
# PT_METRICS (conns raw bulk) picks the figures to measure, e.g. PT_METRICS=raw.
#
# PT_BASE=REV (a git revision, e.g. main) builds the edge of REV too and runs it as a third
# proxy, alternated with the other two in the same window: the edge/base ratio is then a
# before/after figure that the machine's other load shifts for both alike.
#
# HAProxy (Debian's haproxy 2.6, apt-get installed if missing): mode tcp,
# `tcp-request inspect-delay 5s`, accept on `req.ssl_hello_type 1`, route on
# `req.ssl_sni`. Its default nbthread uses every core, the edge GOMAXPROCS does too.
#
# Caveats: the load generator, the backend and the proxy share the machine's cores (2 on the
# dev box), and the TLS work (client and backend) dominates both figures, so they compare
# the two proxies' overhead, not capacity. Not part of CI.
set -euo pipefail

PT_RUNS=${PT_RUNS:-3}
PT_SECONDS=${PT_SECONDS:-5}
PT_CONNS=${PT_CONNS:-16}
PT_BULK_CONNS=${PT_BULK_CONNS:-4}
PT_METRICS=${PT_METRICS:-conns raw bulk}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/edge-ptbench.XXXXXX)
PIDS=()

log() { printf '[ptbench %s] %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v haproxy >/dev/null; then
	log "installing haproxy"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
fi

log "building"
(cd "$ROOT" && go build -o "$WORK/pt" ./tests/bench/passthrough)
BIN=$WORK/pt
if [[ -n ${PT_BASE:-} ]]; then
	log "building the base edge ($PT_BASE)"
	mkdir "$WORK/base"
	git -C "$ROOT" archive "$PT_BASE" | tar -x -C "$WORK/base"
	(cd "$WORK/base" && go build -o "$WORK/pt-base" ./tests/bench/passthrough)
fi

# start VAR NAME CMD... runs CMD in the background (in this shell, so cleanup stops it) and
# sets VAR to the first line it prints (its address).
start() {
	local var=$1 name=$2
	shift 2
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
	PIDS+=($!)
	for _ in $(seq 100); do
		if [[ -s $WORK/$name.out ]]; then
			printf -v "$var" '%s' "$(head -1 "$WORK/$name.out")"
			return
		fi
		sleep 0.1
	done
	log "FATAL: $name did not start: $(cat "$WORK/$name.log")"
	exit 1
}

start BACKEND backend "$BIN" -role backend
start ECHO echo "$BIN" -role echo
start EDGE edge "$BIN" -role edge -upstream "$BACKEND" -echo "$ECHO"
declare -A PID ADDR
PID[edge]=${PIDS[-1]} ADDR[edge]=$EDGE
WHO=(edge)
if [[ -n ${PT_BASE:-} ]]; then
	start BASE base "$WORK/pt-base" -role edge -upstream "$BACKEND" -echo "$ECHO"
	PID[base]=${PIDS[-1]} ADDR[base]=$BASE
	WHO+=(base)
fi
HAPORT=$((20000 + RANDOM % 10000))
cat >"$WORK/haproxy.cfg" <<CFG
global
	maxconn 4000
defaults
	mode tcp
	timeout connect 5s
	timeout client 1h
	timeout server 1h
frontend fe
	bind 127.0.0.1:$HAPORT
	tcp-request inspect-delay 5s
	tcp-request content accept if { req.ssl_hello_type 1 }
	use_backend pt if { req.ssl_sni -i pt.bench.test }
	use_backend raw if { req.ssl_sni -i raw.bench.test }
backend pt
	server app $BACKEND
backend raw
	server echo $ECHO
CFG
haproxy -c -q -f "$WORK/haproxy.cfg" || { log "FATAL: haproxy config"; exit 1; }
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
PID[haproxy]=$! ADDR[haproxy]=127.0.0.1:$HAPORT
WHO+=(haproxy)
for i in $(seq 101); do
	(exec 3<>"/dev/tcp/127.0.0.1/$HAPORT") 2>/dev/null && break
	((i < 101)) || { log "FATAL: haproxy did not start: $(cat "$WORK/haproxy.log")"; exit 1; }
	sleep 0.1
done
HAPROXY=127.0.0.1:$HAPORT
log "backend $BACKEND, edge $EDGE, haproxy $HAPROXY ($(haproxy -v | awk 'NR==1 {print $3}'))"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
declare -A RES CPU
for metric in $PT_METRICS; do
	c=$PT_CONNS
	[[ $metric == bulk ]] && c=$PT_BULK_CONNS
	for run in $(seq "$PT_RUNS"); do
		for who in "${WHO[@]}"; do
			sni=pt.bench.test
			[[ $metric == raw ]] && sni=raw.bench.test
			t0=$(cputicks "${PID[$who]}")
			v=$("$BIN" -role load -target "${ADDR[$who]}" -sni "$sni" -mode "$metric" -c "$c" -duration "${PT_SECONDS}s")
			t1=$(cputicks "${PID[$who]}")
			us=$(awk -v t="$((t1 - t0))" -v k="$TCK" -v v="$v" -v s="$PT_SECONDS" 'BEGIN {printf "%.1f", (v > 0 ? t * 1e6 / k / (v * s) : 0)}')
			log "$metric run $run $who: $v (CPU ${us} us each)"
			RES[$metric.$who]+="$v "
			CPU[$metric.$who]+="$us "
		done
	done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
hdr="| passthrough (median of $PT_RUNS runs of ${PT_SECONDS}s) | edge |"
sep="|---|---|"
[[ -n ${PT_BASE:-} ]] && hdr+=" base ($PT_BASE) | edge/base |" sep+="---|---|"
printf '\n%s HAProxy | edge/HAProxy | CPU us each, edge%s / HAProxy |\n%s---|---|---|\n' "$hdr" "${PT_BASE:+ / base}" "$sep"
for metric in $PT_METRICS; do
	e=$(med "${RES[$metric.edge]}")
	h=$(med "${RES[$metric.haproxy]}")
	cpu=$(med "${CPU[$metric.edge]}")
	label="new connections/s (c=$PT_CONNS)"
	[[ $metric == raw ]] && label="raw new connections/s, no TLS behind (c=$PT_CONNS)"
	[[ $metric == bulk ]] && label="MB/s (c=$PT_BULK_CONNS)"
	row="| $label | $e |"
	if [[ -n ${PT_BASE:-} ]]; then
		b=$(med "${RES[$metric.base]}")
		row+=" $b | $(ratio "$e" "$b") |"
		cpu+=" / $(med "${CPU[$metric.base]}")"
	fi
	printf '%s %s | %s | %s / %s |\n' "$row" "$h" "$(ratio "$e" "$h")" "$cpu" "$(med "${CPU[$metric.haproxy]}")"
done
