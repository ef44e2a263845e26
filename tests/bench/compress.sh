#!/usr/bin/env bash
# On-the-fly compression benchmark: a 100 KiB text response proxied and compressed by edge
# (`compress: true`), nginx (`gzip on`) and Caddy (`encode`), side by side, then edge's
# memory over a 60 s compression run.
#
#   tests/bench/compress.sh                 # from the repo root
#   CB_SECONDS=5 CB_MEM_SECONDS=30 CB_OUT=/tmp/compress.md tests/bench/compress.sh
#
# Every server proxies to the SAME backend (tests/bench/backend -text-size 102400: HTML-like
# text, text/plain, with Content-Length) for the SAME site and certificate (tests/bench/gen,
# one ECDSA site), and compresses each response afresh (no cache). For each server and
# coding, one at a time: h2load -t1 -c$CB_CONNS -m$CB_STREAMS over h2, then over HTTP/1.1
# (h2load --h1, -m1), Accept-Encoding naming one coding. Rows: edge gzip, br, zstd; nginx
# gzip; Caddy gzip, zstd. Levels: gzip 5 everywhere (edge's level, set in nginx's
# gzip_comp_level and Caddy's `gzip 5`), brotli 4 and zstd's default level in edge, Caddy's
# zstd default. Each row also gives the bytes per response on the wire and the server's RSS
# after it.
#
# Memory: edge alone with three h2load clients at once (zstd, br and gzip, CB_MEM_CONNS
# connections of CB_STREAMS streams each) for CB_MEM_SECONDS (60); RSS and Go heap in use
# are printed idle (after the h1/h2 rows), at the start of the load, half way, at the end,
# and idle again CB_IDLE_AFTER (15) seconds after the load (idle encoders are dropped after
# 10 s). CB_SERVERS ("edge nginx caddy") picks the servers; CB_MEM=0 skips the memory run.
#
# Helpers (free_port, start, stop, wait_site, wait_ready, rss_mb, log, die, cleanup) come from
# peers.sh and lib.sh. Needs h2load (nghttp2-client), curl, nginx and caddy (apt-get installed if
# missing, which needs root). Not part of CI.
set -euo pipefail
# shellcheck source=tests/bench/peers.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers.sh"

CB_SECONDS=${CB_SECONDS:-10}
CB_WARMUP=${CB_WARMUP:-1}
CB_CONNS=${CB_CONNS:-16}
CB_STREAMS=${CB_STREAMS:-4}
CB_SIZE=${CB_SIZE:-102400}
CB_MEM_SECONDS=${CB_MEM_SECONDS:-60}
CB_MEM_CONNS=${CB_MEM_CONNS:-8}
CB_IDLE_AFTER=${CB_IDLE_AFTER:-15}
CB_SERVERS=${CB_SERVERS:-"edge nginx caddy"}
CB_MEM=${CB_MEM:-1}

declare -A CRPS CBYTES CRSS CNOTE

# load ROW PROTO HOST PORT CODING PID: one h2load run; records req/s, bytes per response
# and RSS under ROW,PROTO.
load() {
	local row=$1 proto=$2 host=$3 port=$4 coding=$5 pid=$6 out streams=$CB_STREAMS args=()
	if [[ $proto == h1 ]]; then
		args=(--h1)
		streams=1
	fi
	log "$row: h2load $proto Accept-Encoding: $coding"
	out=$(h2load -t1 -c"$CB_CONNS" -m"$streams" "${args[@]}" -D "$CB_SECONDS" --warm-up-time="$CB_WARMUP" \
		-H "accept-encoding: $coding" --connect-to="127.0.0.1:$port" "https://$host:$port/" 2>&1 || true)
	echo "$out" >"$WORK/$row.$proto.h2load.txt"
	local rps done data
	rps=$(h2load_rps "$out")
	done=$(sed -n 's/^requests: .* \([0-9]*\) succeeded,.*/\1/p' <<<"$out")
	data=$(sed -n 's/^traffic: .*, [0-9.]*[KMG]*B (\([0-9]*\)) data.*/\1/p' <<<"$out")
	CRPS[$row,$proto]=${rps:-0}
	CBYTES[$row,$proto]=$(awk -v d="${data:-0}" -v n="${done:-0}" 'BEGIN { if (n > 0) printf "%.0f", d/n; else print "-" }')
	CRSS[$row,$proto]=$(rss_mb "$pid")
	local problems
	problems=$(h2load_problems "$out")
	[[ -z $problems ]] || CNOTE[$row]="${CNOTE[$row]:-}$proto: $problems; "
}

# check_encoding ROW HOST PORT CODING: the server must answer with Content-Encoding CODING.
check_encoding() {
	local row=$1 host=$2 port=$3 coding=$4 got
	got=$(curl -s -o /dev/null -D - --cacert "$SET/ca.pem" --resolve "$host:$port:127.0.0.1" \
		-H "Accept-Encoding: $coding" "https://$host:$port/" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ee]ncoding: //p')
	[[ $got == "$coding" ]] || die "$row: Content-Encoding '$got' for Accept-Encoding $coding; see $WORK"
}

# measure ROW HOST PORT CODING PID: h2 and h1 figures of one server and coding.
measure_row() {
	check_encoding "$1" "$2" "$3" "$4"
	load "$1" h2 "$2" "$3" "$4" "$5"
	load "$1" h1 "$2" "$3" "$4" "$5"
}

write_peer_configs() {
	local host=$1 nginx_port=$2 caddy_port=$3 backend=$4 certs=$SET/peers/certs name
	name=$(basename "$(ls "$certs"/*.crt | head -1)" .crt)
	mkdir -p "$WORK/nginx"
	cat >"$WORK/nginx/nginx.conf" <<NGINX
user root;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp-body;
    proxy_temp_path $WORK/nginx/tmp-proxy;
    fastcgi_temp_path $WORK/nginx/tmp-fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp-uwsgi;
    scgi_temp_path $WORK/nginx/tmp-scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 100000000;
    gzip on;
    gzip_comp_level 5;
    gzip_min_length 1024;
    gzip_proxied any;
    gzip_vary on;
    gzip_types text/plain text/css application/json application/javascript image/svg+xml;
    upstream backend {
        server $backend;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$nginx_port ssl http2;
        server_name $host;
        ssl_certificate $certs/$name.crt;
        ssl_certificate_key $certs/$name.key;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
        }
    }
}
NGINX
	cat >"$WORK/Caddyfile" <<CADDY
{
	auto_https off
	admin off
	storage file_system $WORK/caddy-data
	servers {
		protocols h1 h2
	}
}
https://$host:$caddy_port {
	bind 127.0.0.1
	tls $certs/$name.crt $certs/$name.key
	encode {
		gzip 5
		zstd
		minimum_length 1024
	}
	reverse_proxy $backend
}
CADDY
}

# mem_run HOST PORT ADMIN PID: three clients (zstd, br, gzip) for CB_MEM_SECONDS; RSS and heap
# at the start, half way and the end.
mem_run() {
	local host=$1 port=$2 admin=$3 pid=$4 c hpids=() half
	log "memory: $CB_MEM_SECONDS s of zstd + br + gzip"
	mem_sample idle "$admin" "$pid"
	for c in zstd br gzip; do
		h2load -t1 -c"$CB_MEM_CONNS" -m"$CB_STREAMS" -D "$CB_MEM_SECONDS" -H "accept-encoding: $c" \
			--connect-to="127.0.0.1:$port" "https://$host:$port/" >"$WORK/mem.$c.txt" 2>&1 &
		hpids+=($!)
	done
	half=$((CB_MEM_SECONDS / 2))
	sleep 2
	mem_sample start "$admin" "$pid"
	sleep $((half - 2))
	mem_sample middle "$admin" "$pid"
	sleep $((CB_MEM_SECONDS - half - 2))
	mem_sample end "$admin" "$pid"
	for c in "${hpids[@]}"; do wait "$c" || true; done
	sleep "$CB_IDLE_AFTER"
	mem_sample after "$admin" "$pid"
	MEM_REQS=0
	for c in zstd br gzip; do
		MEM_REQS=$((MEM_REQS + $(sed -n 's/^requests: .* \([0-9]*\) succeeded,.*/\1/p' "$WORK/mem.$c.txt")))
		grep -q ' 0 failed, 0 errored' "$WORK/mem.$c.txt" || CNOTE[mem]="${CNOTE[mem]:-}$c: $(grep '^requests:' "$WORK/mem.$c.txt"); "
	done
}

declare -A MEM
mem_sample() {
	local heap
	heap=$(curl -s "http://$2/metrics" | awk '/^go_memstats_heap_inuse_bytes / {printf "%.0f", $2/1048576}')
	MEM[$1]="$(rss_mb "$3") MiB RSS, ${heap:-?} MiB heap in use"
	log "memory $1: ${MEM[$1]}"
}

report_c() {
	local row
	declare -A LABEL=([edge-gzip]="edge gzip 5" [edge-br]="edge br 4" [edge-zstd]="edge zstd default"
		[nginx-gzip]="nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') gzip 5" [caddy-gzip]="caddy $(caddy version | awk '{print $1}') gzip 5"
		[caddy-zstd]="caddy $(caddy version | awk '{print $1}') zstd")
	echo "## On-the-fly compression of a $((CB_SIZE / 1024)) KiB text response, loopback, $(nproc) cores shared with the load generator"
	echo
	echo "$(date -u +%FT%TZ), ${CB_SECONDS}s per figure, h2load -t1 -c$CB_CONNS (h2: -m$CB_STREAMS), one coding per run, each response compressed afresh."
	echo
	echo "| server, coding | h2 req/s | h1 req/s | bytes/response | RSS after (MiB) |"
	echo "|---|---:|---:|---:|---:|"
	for row in "edge-gzip" "nginx-gzip" "caddy-gzip" "edge-br" "edge-zstd" "caddy-zstd"; do
		[[ -n ${CRPS[$row,h2]:-} ]] || continue
		printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$row]}" "$(num "${CRPS[$row,h2]}")" "$(num "${CRPS[$row,h1]}")" \
			"${CBYTES[$row,h2]}" "${CRSS[$row,h1]}"
	done
	echo
	if [[ -n ${CRPS[edge-gzip,h2]:-} ]]; then
		printf 'edge gzip / nginx gzip: h2 %s, h1 %s; edge gzip / caddy gzip: h2 %s, h1 %s\n\n' \
			"$(ratio "${CRPS[edge-gzip,h2]}" "${CRPS[nginx-gzip,h2]:-0}")" "$(ratio "${CRPS[edge-gzip,h1]}" "${CRPS[nginx-gzip,h1]:-0}")" \
			"$(ratio "${CRPS[edge-gzip,h2]}" "${CRPS[caddy-gzip,h2]:-0}")" "$(ratio "${CRPS[edge-gzip,h1]}" "${CRPS[caddy-gzip,h1]:-0}")"
	fi
	if [[ -n ${MEM[end]:-} ]]; then
		echo "Edge memory over ${CB_MEM_SECONDS}s of zstd + br + gzip at once (3 x $CB_MEM_CONNS connections x $CB_STREAMS streams, $MEM_REQS responses):"
		echo "idle before ${MEM[idle]}; start ${MEM[start]}; middle ${MEM[middle]}; end ${MEM[end]}; idle ${CB_IDLE_AFTER}s after ${MEM[after]}."
		echo
	fi
	for row in "${!CNOTE[@]}"; do echo "- note, $row: ${CNOTE[$row]}"; done
	return 0
}

main_c() {
	ensure_tools caddy:caddy nginx:nginx h2load:nghttp2-client curl:curl git:git
	cd "$ROOT"
	build_bins gen backend

	local backend edge_port admin nginx_port caddy_port haproxy_port host pid
	free_port backend
	backend=127.0.0.1:$backend
	free_port edge_port
	free_port admin
	free_port nginx_port
	free_port caddy_port
	free_port haproxy_port
	start backend "$WORK/bin/backend" -listen "$backend" -text-size "$CB_SIZE"
	wait_200 backend "$LAST_PID" 120 "http://$backend/"

	SET=$WORK/site
	"$WORK/bin/gen" -out "$SET" -n 1 -backend "$backend" -peers \
		-caddy-port "$caddy_port" -nginx-port "$nginx_port" -haproxy-port "$haproxy_port"
	host=$(head -1 "$SET/hosts.txt")
	sed -i 's/^\troutes: "\/": upstreams: \(.*\)$/\troutes: "\/": {upstreams: \1, compress: true}/' "$SET"/repo/sites/*.cue
	grep -q 'compress: true' "$SET"/repo/sites/*.cue || die "could not turn compression on in $SET/repo"
	git -C "$SET/repo" -c user.name=bench -c user.email=bench@localhost commit -qam "compress: true"
	write_peer_configs "$host" "$nginx_port" "$caddy_port" "$backend"

	if [[ " $CB_SERVERS " == *" edge "* ]]; then
		log "edge"
		start edge "$EDGECTL" agent --repo "$SET/repo" --key-dir "$SET/keys" --listen "127.0.0.1:$edge_port" \
			--http-listen off --admin "127.0.0.1:$admin" --access-log off --interval 1h
		pid=$LAST_PID
		wait_ready edge "$pid" "127.0.0.1:$admin" 120
		wait_site edge "$pid" "$host" "$edge_port" "$SET/ca.pem"
		for c in gzip br zstd; do measure_row "edge-$c" "$host" "$edge_port" "$c" "$pid"; done
		if [[ $CB_MEM == 1 ]]; then mem_run "$host" "$edge_port" "127.0.0.1:$admin" "$pid"; fi
		stop "$pid"
	fi

	if [[ " $CB_SERVERS " == *" nginx "* ]]; then
		log "nginx"
		start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
		pid=$LAST_PID
		wait_site nginx "$pid" "$host" "$nginx_port" "$SET/ca.pem"
		measure_row "nginx-gzip" "$host" "$nginx_port" gzip "$pid"
		stop "$pid"
	fi

	if [[ " $CB_SERVERS " == *" caddy "* ]]; then
		log "caddy"
		mkdir -p "$WORK/caddy-home"
		start caddy env HOME="$WORK/caddy-home" XDG_DATA_HOME="$WORK/caddy-home" XDG_CONFIG_HOME="$WORK/caddy-home" \
			caddy run --adapter caddyfile --config "$WORK/Caddyfile"
		pid=$LAST_PID
		wait_site caddy "$pid" "$host" "$caddy_port" "$SET/ca.pem"
		for c in gzip zstd; do measure_row "caddy-$c" "$host" "$caddy_port" "$c" "$pid"; done
		stop "$pid"
	fi

	emit_report "${CB_OUT:-}" report_c
}

main_c "$@"
