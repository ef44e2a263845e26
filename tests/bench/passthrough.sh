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
# and the edge/HAProxy ratio. The edge runs in-process from tests/bench/passthrough (the
# edge package with one passthrough site), so it needs no config repo.
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
for i in $(seq 101); do
	(exec 3<>"/dev/tcp/127.0.0.1/$HAPORT") 2>/dev/null && break
	((i < 101)) || { log "FATAL: haproxy did not start: $(cat "$WORK/haproxy.log")"; exit 1; }
	sleep 0.1
done
HAPROXY=127.0.0.1:$HAPORT
log "backend $BACKEND, edge $EDGE, haproxy $HAPROXY ($(haproxy -v | awk 'NR==1 {print $3}'))"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A RES
for metric in conns raw bulk; do
	c=$PT_CONNS
	[[ $metric == bulk ]] && c=$PT_BULK_CONNS
	for run in $(seq "$PT_RUNS"); do
		for who in edge haproxy; do
			addr=$EDGE
			[[ $who == haproxy ]] && addr=$HAPROXY
			sni=pt.bench.test
			[[ $metric == raw ]] && sni=raw.bench.test
			v=$("$BIN" -role load -target "$addr" -sni "$sni" -mode "$metric" -c "$c" -duration "${PT_SECONDS}s")
			log "$metric run $run $who: $v"
			RES[$metric.$who]+="$v "
		done
	done
done

printf '\n| passthrough (median of %s runs of %ss) | edge | HAProxy | edge/HAProxy |\n|---|---|---|---|\n' "$PT_RUNS" "$PT_SECONDS"
for metric in conns raw bulk; do
	e=$(tr ' ' '\n' <<<"${RES[$metric.edge]}" | grep . | median)
	h=$(tr ' ' '\n' <<<"${RES[$metric.haproxy]}" | grep . | median)
	label="new connections/s (c=$PT_CONNS)"
	[[ $metric == raw ]] && label="raw new connections/s, no TLS behind (c=$PT_CONNS)"
	[[ $metric == bulk ]] && label="MB/s (c=$PT_BULK_CONNS)"
	printf '| %s | %s | %s | %.2f |\n' "$label" "$e" "$h" "$(awk -v e="$e" -v h="$h" 'BEGIN {print e/h}')"
done
