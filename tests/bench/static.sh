#!/usr/bin/env bash
# Static-file benchmark: edge, nginx and Caddy serving the SAME files over TLS on loopback.
#
#   tests/bench/static.sh                       # from the repo root; needs root for apt-get
#   BENCH_RUNS=5 BENCH_SECONDS=10 tests/bench/static.sh
#
# Files: 1k.bin (1 KiB) and 1m.bin (1 MiB) of random bytes in one directory. Servers:
#   edge          a static route on a directory of the server (static: dir: ...), as the
#                 peers serve it (os.Root; one open and fstat per request)
#   edge repo     the same files from a directory of the config repo (static: repo_dir),
#                 served from the revision held in memory
#   nginx         Debian's nginx: root + sendfile, worker_processes auto
#   caddy         file_server (Debian's caddy)
# all with the same ECDSA P-256 certificate (tests/bench/gen), all running at once and
# measured one at a time, the servers alternating run by run: every figure is the median of
# BENCH_RUNS (3) runs of BENCH_SECONDS (5) seconds after BENCH_WARMUP (1) second.
#   1 KiB h2   h2load -c$SMALL_CONNS -m$SMALL_STREAMS      req/s
#   1 KiB h1   h2load --h1 -c$SMALL_CONNS                  req/s
#   1 MiB h2   h2load -c$BIG_CONNS -m$BIG_STREAMS          MB/s
#   1 MiB h1   h2load --h1 -c$BIG_CONNS                    MB/s
# No Accept-Encoding is sent: the files go as they are. Each run also counts the server's
# read and write system calls per request (syscr/syscw of /proc/PID/io, the server and its
# children): unlike req/s they do not move with the machine's load. And the CPU time per
# request (utime + stime) of the server and its children, and of h2load itself: a server
# whose responses cost the load generator more (more TLS records, more reads) gets fewer
# req/s from h2load -t1 at the same server CPU.
#
# Caveats: the load generator shares the machine's cores with the server (2 on the dev
# box), so the figures compare servers, not capacity. Not part of CI.
#
# Environment: BENCH_RUNS, BENCH_SECONDS, BENCH_WARMUP, SMALL_CONNS (50), SMALL_STREAMS
# (10), BIG_CONNS (8), BIG_STREAMS (1), BENCH_ONLY (servers, e.g. "edge nginx"), BENCH_OUT
# (also write the report there), BENCH_KEEP=1 keeps the work directory, EDGECTL (a prebuilt
# edgectl binary).
set -euo pipefail

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
SMALL_CONNS=${SMALL_CONNS:-50}
SMALL_STREAMS=${SMALL_STREAMS:-10}
BIG_CONNS=${BIG_CONNS:-8}
BIG_STREAMS=${BIG_STREAMS:-1}
BENCH_ONLY=${BENCH_ONLY:-"edge edgerepo nginx caddy"}
# shellcheck source=tests/bench/lib.sh
BENCH_TAG=staticbench LOG_TAG=static-bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# wait_file NAME PID URL: wait until URL (on HOST at PORT) answers 200 with 1k.bin's size.
wait_file() {
	local name=$1 pid=$2 url=$3 i got
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited; see $WORK/$name.log: $(tail -5 "$WORK/$name.log")"
		got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 --cacert "$SET/ca.pem" \
			--connect-to "$HOST:$(port_of "$url"):127.0.0.1:$(port_of "$url")" "$url" || true)
		[[ $got == "200 1024" ]] && return 0
		sleep 0.2
	done
	die "$name: $url did not answer 200 with 1024 bytes (last: '$got'); see $WORK/$name.log"
}
port_of() { sed -E 's#https://[^:/]+:([0-9]+)/.*#\1#' <<<"$1"; }

wanted() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

declare -A URL RUNS NOTE PID SYSC CPU

# ticks PID: the CPU time (utime + stime, clock ticks) of PID, 0 when it is gone.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# srvticks PID: the CPU time of PID and its children (nginx's workers).
srvticks() {
	local p t=0
	for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(ticks "$p"))); done
	echo "$t"
}

# childticks VAR: sets VAR to the CPU time (clock ticks) of this shell's waited-for children
# so far (bash's times, which must run in this shell, not in a command substitution).
childticks() {
	times >"$WORK/times"
	printf -v "$1" '%s' "$(awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' "$WORK/times")"
}

# syscalls PID: the read and write system calls of PID and its children so far ("R W").
syscalls() {
	local p r=0 w=0 a b
	for p in "$1" $(pgrep -P "$1" || true); do
		read -r a b < <(awk '/^syscr/ {r=$2} /^syscw/ {w=$2} END {print r+0, w+0}' "/proc/$p/io" 2>/dev/null || echo "0 0")
		r=$((r + a)) w=$((w + b))
	done
	echo "$r $w"
}

# setup writes the files, the certificate (tests/bench/gen, one site), edge's config repo
# and the peers' configurations, and starts every server.
setup() {
	build_bins gen
	mkdir -p "$WORK/files"
	head -c 1024 /dev/urandom >"$WORK/files/1k.bin"
	head -c 1048576 /dev/urandom >"$WORK/files/1m.bin"
	local p_edge p_admin p_nginx p_caddy p_unused
	free_port p_edge
	free_port p_admin
	free_port p_nginx
	free_port p_caddy
	free_port p_unused
	SET=$WORK/set
	"$WORK/bin/gen" -out "$SET" -n 1 -domain static.bench.test -backend 127.0.0.1:9 -peers \
		-caddy-port "$p_caddy" -nginx-port "$p_nginx" -haproxy-port "$p_unused" >/dev/null
	HOST=$(head -1 "$SET/hosts.txt")
	local site certs
	site=$(ls "$SET/repo/sites/"*.cue)
	certs=$(ls "$SET/peers/certs/"*.crt)
	certs=${certs%.crt}
	# The generated site proxies "/": make it serve the files instead, from the server's
	# directory at "/" and from the repo at "/repo".
	mkdir -p "$SET/repo/www"
	cp "$WORK/files/"*.bin "$SET/repo/www/"
	sed -i -E "s#routes: \"/\": upstreams: .*#routes: \"/\": static: dir: \"$WORK/files\"\n\troutes: \"/repo\": static: repo_dir: \"www\"#" "$site"
	git -C "$SET/repo" add -A
	git -C "$SET/repo" -c user.name=bench -c user.email=bench@bench.test -c commit.gpgsign=false commit -qm "static"
	"$EDGECTL" validate "$SET/repo" >/dev/null || die "the static site is invalid: $("$EDGECTL" validate "$SET/repo" 2>&1)"

	mkdir -p "$WORK/nginx"
	cat >"$WORK/nginx/nginx.conf" <<-NGINX
		user root;
		worker_processes auto;
		pid $WORK/nginx/nginx.pid;
		error_log $WORK/nginx/error.log warn;
		events { worker_connections 8192; }
		http {
		    include /etc/nginx/mime.types;
		    default_type application/octet-stream;
		    access_log off;
		    sendfile on;
		    tcp_nopush on;
		    keepalive_requests 100000000;
		    ssl_protocols TLSv1.2 TLSv1.3;
		    client_body_temp_path $WORK/nginx/body;
		    proxy_temp_path $WORK/nginx/proxy;
		    fastcgi_temp_path $WORK/nginx/fastcgi;
		    uwsgi_temp_path $WORK/nginx/uwsgi;
		    scgi_temp_path $WORK/nginx/scgi;
		    server {
		        listen 127.0.0.1:$p_nginx ssl http2;
		        server_name $HOST;
		        ssl_certificate $certs.crt;
		        ssl_certificate_key $certs.key;
		        root $WORK/files;
		    }
		}
	NGINX
	mkdir -p "$WORK/caddy"
	cat >"$WORK/caddy/Caddyfile" <<-CADDY
		{
			auto_https off
			admin off
			storage file_system $WORK/caddy/data
			servers {
				protocols h1 h2
			}
		}
		https://$HOST:$p_caddy {
			bind 127.0.0.1
			tls $certs.crt $certs.key
			root * $WORK/files
			file_server
		}
	CADDY

	if wanted edge || wanted edgerepo; then
		start edge "$EDGECTL" agent --repo "$SET/repo" --key-dir "$SET/keys" --listen "127.0.0.1:$p_edge" \
			--http-listen off --admin "127.0.0.1:$p_admin" --access-log off --interval 1h
		EDGE_PID=$LAST_PID
		PID[edge]=$LAST_PID PID[edgerepo]=$LAST_PID
		URL[edge]="https://$HOST:$p_edge/" URL[edgerepo]="https://$HOST:$p_edge/repo/"
		wait_file edge "$EDGE_PID" "${URL[edge]}1k.bin"
		wait_file edge "$EDGE_PID" "${URL[edgerepo]}1k.bin"
	fi
	if wanted nginx; then
		start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
		PID[nginx]=$LAST_PID
		URL[nginx]="https://$HOST:$p_nginx/"
		wait_file nginx "$LAST_PID" "${URL[nginx]}1k.bin"
	fi
	if wanted caddy; then
		mkdir -p "$WORK/caddy/home"
		start caddy env HOME="$WORK/caddy/home" XDG_DATA_HOME="$WORK/caddy/home" XDG_CONFIG_HOME="$WORK/caddy/home" \
			caddy run --adapter caddyfile --config "$WORK/caddy/Caddyfile"
		PID[caddy]=$LAST_PID
		URL[caddy]="https://$HOST:$p_caddy/"
		wait_file caddy "$LAST_PID" "${URL[caddy]}1k.bin"
	fi
}

# measure SERVER CASE: one h2load run; appends the figure (req/s for 1k, MB/s for 1m) to
# RUNS[SERVER,CASE].
measure() {
	local server=$1 case=$2 url=${URL[$1]} args out f file
	case $case in
	1k-h2) file=1k.bin args=(-c"$SMALL_CONNS" -m"$SMALL_STREAMS") ;;
	1k-h1) file=1k.bin args=(--h1 -c"$SMALL_CONNS") ;;
	1m-h2) file=1m.bin args=(-c"$BIG_CONNS" -m"$BIG_STREAMS") ;;
	1m-h1) file=1m.bin args=(--h1 -c"$BIG_CONNS") ;;
	esac
	local before after n tmp=$WORK/h2load.out hpid c0 c1 h0 hw h1
	childticks h0
	h2load -t1 "${args[@]}" -D "$BENCH_SECONDS" --warm-up-time="$BENCH_WARMUP" \
		--connect-to="127.0.0.1:$(port_of "$url")" "$url$file" >"$tmp" 2>&1 &
	hpid=$!
	sleep "$BENCH_WARMUP" # the system calls are counted after the warm-up, as the requests are
	before=$(syscalls "${PID[$server]}") c0=$(srvticks "${PID[$server]}") hw=$(ticks "$hpid")
	wait "$hpid" || true
	after=$(syscalls "${PID[$server]}") c1=$(srvticks "${PID[$server]}")
	childticks h1
	out=$(cat "$tmp")
	echo "$out" >>"$WORK/$server.$case.h2load.txt"
	n=$(sed -n 's/^requests: .* \([0-9]*\) succeeded,.*/\1/p' <<<"$out")
	SYSC[$server,$case]=$(awk -v b="$before" -v a="$after" -v n="${n:-0}" \
		'BEGIN { split(b, x, " "); split(a, y, " "); if (n > 0) printf "%.2f / %.2f", (y[1]-x[1])/n, (y[2]-x[2])/n; else print "-" }')
	# h2load's CPU after the warm-up: all of it (its own and this shell's small helpers, waited
	# for meanwhile) less what it had used at the warm-up's end.
	CPU[$server,$case]=$(awk -v s=$((c1 - c0)) -v h=$((h1 - h0 - hw)) -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0) printf "%.1f / %.1f", s / hz * 1e6 / n, h / hz * 1e6 / n; else print "-" }')
	if [[ $case == 1k-* ]]; then
		f=$(h2load_rps "$out")
	else
		f=$(sed -n 's/^finished in .* req\/s, \([0-9.]*\)\([KMG]\)B\/s.*/\1 \2/p' <<<"$out" |
			awk '{m=$1; if ($2=="K") m/=1024; if ($2=="G") m*=1024; printf "%.1f", m}')
	fi
	RUNS[$server,$case]+="${f:-0} "
	grep -qE 'status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$out" ||
		NOTE[$server]+="$case: $(grep -E '^(status codes|requests):' <<<"$out" | xargs); "
}

report() {
	local s c
	declare -A LABEL=([edge]="edge (dir)" [edgerepo]="edge (repo_dir)"
		[nginx]="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" [caddy]="caddy $(caddy version | awk '{print $1}')")
	echo "## static files: edge vs nginx vs Caddy, loopback, $(nproc) cores shared with the load generator"
	echo
	echo "$(date -u +%FT%TZ), median of $BENCH_RUNS interleaved runs of ${BENCH_SECONDS}s; 1 KiB: $SMALL_CONNS connections (h2: $SMALL_STREAMS streams each), 1 MiB: $BIG_CONNS connections (h2: $BIG_STREAMS streams each); ECDSA P-256, h2load -t1. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| server | 1 KiB h2 req/s | 1 KiB h1 req/s | 1 MiB h2 MB/s | 1 MiB h1 MB/s |"
	echo "|---|---:|---:|---:|---:|"
	for s in edge edgerepo nginx caddy; do
		wanted "$s" || continue
		printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$s]}" "$(median "${RUNS[$s,1k-h2]}")" "$(median "${RUNS[$s,1k-h1]}")" \
			"$(median "${RUNS[$s,1m-h2]}")" "$(median "${RUNS[$s,1m-h1]}")"
	done
	echo
	if wanted edge; then
		echo "| edge (dir) / other | 1 KiB h2 | 1 KiB h1 | 1 MiB h2 | 1 MiB h1 |"
		echo "|---|---:|---:|---:|---:|"
		for s in edgerepo nginx caddy; do
			wanted "$s" || continue
			printf '| / %s |' "${LABEL[$s]}"
			for c in 1k-h2 1k-h1 1m-h2 1m-h1; do
				printf ' %s |' "$(ratio "$(median "${RUNS[edge,$c]}")" "$(median "${RUNS[$s,$c]}")")"
			done
			echo
		done
		echo
	fi
	echo "System calls per request, read / write (the server and its children, after the warm-up, last run):"
	echo
	echo "| server | 1 KiB h2 | 1 KiB h1 | 1 MiB h2 | 1 MiB h1 |"
	echo "|---|---:|---:|---:|---:|"
	for s in edge edgerepo nginx caddy; do
		wanted "$s" || continue
		printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$s]}" "${SYSC[$s,1k-h2]:--}" "${SYSC[$s,1k-h1]:--}" "${SYSC[$s,1m-h2]:--}" "${SYSC[$s,1m-h1]:--}"
	done
	echo
	echo "CPU µs per request, server / h2load (utime + stime after the warm-up, last run; 1 MiB: per MiB):"
	echo
	echo "| server | 1 KiB h2 | 1 KiB h1 | 1 MiB h2 | 1 MiB h1 |"
	echo "|---|---:|---:|---:|---:|"
	for s in edge edgerepo nginx caddy; do
		wanted "$s" || continue
		printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$s]}" "${CPU[$s,1k-h2]:--}" "${CPU[$s,1k-h1]:--}" "${CPU[$s,1m-h2]:--}" "${CPU[$s,1m-h1]:--}"
	done
	echo
	echo "Runs (each server's figures in run order):"
	for s in edge edgerepo nginx caddy; do
		wanted "$s" || continue
		for c in 1k-h2 1k-h1 1m-h2 1m-h1; do echo "- ${LABEL[$s]} $c: ${RUNS[$s,$c]}"; done
	done
	for s in edge edgerepo nginx caddy; do
		[[ -n ${NOTE[$s]:-} ]] && echo "- NOTE ${LABEL[$s]}: ${NOTE[$s]}"
	done
	return 0
}

main() {
	[[ $(id -u) == 0 ]] || die "run as root (apt-get; nginx as root reads the work directory)"
	ensure_tools caddy:caddy nginx:nginx h2load:nghttp2-client curl:curl git:git
	cd "$ROOT"
	setup
	local run c s
	for ((run = 1; run <= BENCH_RUNS; run++)); do
		for c in 1k-h2 1k-h1 1m-h2 1m-h1; do
			for s in edge edgerepo nginx caddy; do
				wanted "$s" || continue
				log "run $run/$BENCH_RUNS: $s $c"
				measure "$s" "$c"
			done
		done
	done
	emit_report "${BENCH_OUT:-}" report
}

main "$@"
