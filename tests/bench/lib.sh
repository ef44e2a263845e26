# Helpers shared by the benchmark scripts in tests/bench (sourced, never run).
#
#   BENCH_TAG=accessbench LOG_TAG=accessbench source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# BENCH_TAG names the work directory (/tmp/edge-$BENCH_TAG.XXXXXX) and the /etc/hosts mark
# ("# edge-$BENCH_TAG <pid>"); LOG_TAG (default BENCH_TAG) prefixes the log lines. Sourcing
# sets ROOT (the repository), WORK, HOSTS_MARK and PIDS, and traps EXIT to stop every server
# started by start, remove this run's /etc/hosts lines and remove WORK (kept with
# BENCH_KEEP=1 or on failure).
# shellcheck shell=bash

BENCH_TAG=${BENCH_TAG:-bench}
LOG_TAG=${LOG_TAG:-$BENCH_TAG}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "/tmp/edge-$BENCH_TAG.XXXXXX")
HOSTS_MARK="# edge-$BENCH_TAG $$"
PIDS=()

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%T)" "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}

cleanup() {
	local rc=$?
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	remove_hosts
	if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# remove_hosts removes the lines add_host appended to /etc/hosts.
remove_hosts() {
	if grep -qF "$HOSTS_MARK" /etc/hosts 2>/dev/null; then
		# Rewrite in place (not mv): /etc/hosts may be a bind mount.
		local tmp
		tmp=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
		printf '%s\n' "$tmp" >/etc/hosts
	fi
}

# add_host HOST...: resolve each HOST to 127.0.0.1 (wrk takes SNI from the URL and must
# resolve it) until the script exits.
add_host() {
	local h
	for h in "$@"; do printf '127.0.0.1 %s %s\n' "$h" "$HOSTS_MARK" >>/etc/hosts; done
}

# ensure_tools TOOL:PACKAGE...: apt-get install the packages of the tools not on PATH.
ensure_tools() {
	local missing=() tool
	for tool in "$@"; do
		command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
	done
	if ((${#missing[@]})); then
		[[ $(id -u) == 0 ]] || die "missing ${missing[*]}; run as root to apt-get them"
		log "installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# build_bins NAME...: build edgectl into $WORK/bin (unless EDGECTL names a prebuilt one; EDGECTL
# is set either way) and each tests/bench/NAME command into $WORK/bin/NAME. Runs in ROOT.
build_bins() {
	local name
	mkdir -p "$WORK/bin"
	log "building into $WORK/bin"
	if [[ -z ${EDGECTL:-} ]]; then
		(cd "$ROOT" && go build -o "$WORK/bin/edgectl" ./cmd/edgectl)
		EDGECTL=$WORK/bin/edgectl
	fi
	for name in "$@"; do
		(cd "$ROOT" && go build -o "$WORK/bin/$name" "./tests/bench/$name")
	done
}

USED_PORTS=" "
# free_port VAR sets VAR to a loopback port no socket uses over TCP or UDP (not even in
# TIME-WAIT) and not handed out before, below the kernel's ephemeral range so load-generator
# connections cannot take it.
free_port() {
	local p
	while :; do
		p=$((12000 + RANDOM % 20000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		[[ -z $(ss -Htuan "( sport = :$p )" 2>/dev/null) ]] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}

# start NAME CMD... runs CMD in the background with its output in $WORK/NAME.log (in this
# shell, so cleanup stops it); LAST_PID is its pid.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
}

# stop PID stops one server started by start and waits for it.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# wait_200 NAME PID TIMEOUT URL [CURL ARGS...]: wait up to TIMEOUT seconds until URL answers
# 200; die if the server PID exits first.
wait_200() {
	local name=$1 pid=$2 timeout=$3 url=$4 i got
	shift 4
	for ((i = 0; i < timeout * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || die "$name exited; see $WORK/$name.log: $(tail -5 "$WORK/$name.log")"
		got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)
		[[ $got == 200 ]] && return 0
		sleep 0.2
	done
	die "$name: $url answered '$got', not 200, after ${timeout}s; see $WORK/$name.log"
}

# h2load_rps OUT: the req/s of h2load's output OUT (empty if there is none).
h2load_rps() { sed -n 's/^finished in .*, \([0-9.]*\) req\/s,.*/\1/p' <<<"$1"; }

# h2load_requests OUT: the requests h2load's output OUT says succeeded in the measured
# window (empty if none).
h2load_requests() { sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$1"; }

# h2load_problems OUT: what went wrong in h2load's output OUT ("; "-separated, empty if
# every request succeeded with a 2xx).
h2load_problems() {
	local p=""
	grep -q ' 0 failed, 0 errored' <<<"$1" || p="$(grep '^requests:' <<<"$1" || echo 'no result')"
	grep -qE 'status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$1" ||
		p="$p${p:+; }$(grep '^status codes:' <<<"$1" || echo 'no status codes')"
	printf '%s' "$p"
}

# wrk_rps OUT: the req/s of wrk's output OUT (empty if there is none).
wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$1"; }

# wrk_requests OUT: the requests wrk's output OUT counts (empty if there is none).
wrk_requests() { sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$1"; }

# wrk_problems OUT: wrk's Non-2xx and socket error lines, on one line (empty if none).
wrk_problems() { grep -E 'Non-2xx|Socket errors' <<<"$1" | xargs || true; }

# median N...: the median of the numbers (0 if none).
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print 0}'; }

# ratio A B [DIGITS]: A/B with DIGITS (2) decimals, or n/a.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a > 0 && b > 0) printf "%." d "f", a/b; else printf "n/a" }'; }

# emit_report FILE CMD...: print CMD's output and, if FILE is not empty, write it there too.
emit_report() {
	local file=$1 out
	shift
	out=$("$@")
	echo "$out"
	if [[ -n $file ]]; then
		echo "$out" >"$file"
		log "report written to $file"
	fi
}
