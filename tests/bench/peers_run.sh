# One row-run of tests/bench/peers.sh: every figure of one running server, and the
# configuration swaps of the "p99 swap" column (sourced by peers.sh, never run).
# shellcheck shell=bash

# measure_run ROW RUN: the load average, then every column of ROW once (RUN numbers the raw
# outputs $WORK/ROW.RUN.COLUMN.txt).
measure_run() {
	local row=$1 run=$2 load
	load=$(cut -d' ' -f1 /proc/loadavg)
	LOADS[$row]="${LOADS[$row]:-}${LOADS[$row]:+ }$load"
	log "$row run $run (load average $load)"
	run_h2load "$row" "$run"
	run_wrk "$row" "$run" h1 /
	run_wrk "$row" "$run" conn / -H 'Connection: close'
	run_wrk "$row" "$run" k8 /8k
	run_wrk "$row" "$run" k64 /64k
	run_rate "$row" "$run" p99
	# RSS after the first round's load, before any swap (the later rounds follow swaps).
	((run > 1)) || RSS_LOAD[$row]=$(rss_mb "${PID[$row]}")
	run_rate "$row" "$run" swap
}

# out_file ROW RUN COL: where the raw output of one figure goes.
out_file() { echo "$WORK/$1.$2.$3.txt"; }

# run_h2load ROW RUN: the h2 keep-alive figure, and the server's CPU per request over it
# (cpu_h2, µs: the CPU from the end of h2load's warm-up, timed by sleeping as long, to its
# end, over the requests of its measured window).
run_h2load() {
	local row=$1 run=$2 out f c0 m0 pid raw
	raw=$(out_file "$row" "$run" h2)
	h2load -t1 -c"$BENCH_CONNS" -m"$BENCH_STREAMS" -D "$BENCH_SECONDS" --warm-up-time="$BENCH_WARMUP" \
		--connect-to="127.0.0.1:${PORT[$row]}" "https://${HOST[$row]}:${PORT[$row]}/" >"$raw" 2>&1 &
	pid=$!
	sleep "$BENCH_WARMUP"
	prof_begin "$row" "$run" h2
	c0=$(cpu_ticks "${PID[$row]}")
	m0=$(machine_ticks)
	wait "$pid" || true
	out=$(<"$raw")
	prof_end "$(h2load_requests "$out")"
	cpu_figs "$row" h2 "$c0" "$m0" "$(h2load_requests "$out")"
	f=$(h2load_rps "$out")
	add_fig "$row" h2 "${f:-0}"
	f=$(h2load_problems "$out")
	[[ -z $f ]] || note "$row" "run $run h2load: $f"
	grep -q 'Application protocol: h2' <<<"$out" || note "$row" "run $run: h2load did not negotiate h2"
}

# run_wrk ROW RUN COL PATH [WRK ARGS...]: one wrk figure (req/s) on PATH, and the server's
# CPU per request over it (cpu_COL, µs) with the machine's busy share (busy_COL, %). wrk has
# no warm-up option: a BENCH_WARMUP run before it is thrown away.
run_wrk() {
	local row=$1 run=$2 col=$3 path=$4 out f c0 m0
	shift 4
	local url="https://${HOST[$row]}:${PORT[$row]}$path"
	wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_WARMUP}s" "$@" "$url" >/dev/null 2>&1 || true
	prof_begin "$row" "$run" "$col"
	c0=$(cpu_ticks "${PID[$row]}")
	m0=$(machine_ticks)
	out=$(wrk -t1 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" "$@" "$url" 2>&1 || true)
	prof_end "$(wrk_requests "$out")"
	cpu_figs "$row" "$col" "$c0" "$m0" "$(wrk_requests "$out")"
	echo "$out" >"$(out_file "$row" "$run" "$col")"
	f=$(wrk_rps "$out")
	add_fig "$row" "$col" "${f:-0}"
	f=$(wrk_problems "$out")
	[[ -z $f ]] || note "$row" "run $run wrk $col: $f"
}

# cpu_ticks PID: the CPU time (utime + stime, clock ticks) PID and its children (nginx's and
# HAProxy's workers) have used so far.
cpu_ticks() {
	local p t s=0
	for p in $1 $(pgrep -P "$1" || true); do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || true)
		s=$((s + ${t:-0}))
	done
	echo "$s"
}

# machine_ticks: the machine's busy and total clock ticks so far (/proc/stat).
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# cpu_figs ROW COL CPU0 MACHINE0 REQUESTS: record the server's CPU µs per request since
# CPU0 (cpu_COL) and the machine's busy share since MACHINE0 (busy_COL, % of all cores).
# A row whose req/s falls while its µs per request does not was short of CPU: other work
# on the machine took it (busy near 100 %), not the server's own cost.
cpu_figs() {
	local row=$1 col=$2 c1 m1
	c1=$(cpu_ticks "${PID[$row]}")
	m1=$(machine_ticks)
	add_fig "$row" "cpu_$col" "$(awk -v t=$((c1 - $3)) -v hz="$CLK_TCK" -v n="${5:-0}" \
		'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print 0 }')"
	add_fig "$row" "busy_$col" "$(awk -v a="$4" -v b="$m1" \
		'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; if (d > 0) printf "%.0f", 100 * (y[1] - x[1]) / d; else print 0 }')"
}

# run_rate ROW RUN COL: rateload at BENCH_RPS; COL swap also swaps the configuration over
# and over during the measured window. Records the p99 in milliseconds.
run_rate() {
	local row=$1 run=$2 col=$3 out f swapper="" count
	local swaps=$WORK/$row.$run.swaps
	if [[ $col == swap ]]; then
		[[ $row != edge* ]] || prepare_swaps "$row"
		swap_loop "$row" "$swaps" "$BENCH_WARMUP" "$BENCH_SECONDS" &
		swapper=$!
	fi
	prof_begin "$row" "$run" "$col" "$BENCH_WARMUP"
	out=$("$WORK/bin/rateload" -url "https://${HOST[$row]}:${PORT[$row]}/" -connect "127.0.0.1:${PORT[$row]}" \
		-ca "$(ca_of "$row")" -c "$BENCH_RPS_CONNS" -rate "$BENCH_RPS" -d "${BENCH_SECONDS}s" \
		-warmup "${BENCH_WARMUP}s" -detail 2>&1 || true)
	prof_end "$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$out")"
	echo "$out" >"$(out_file "$row" "$run" "$col")"
	if [[ -n $swapper ]]; then
		wait "$swapper" || note "$row" "run $run: a swap failed (see $WORK/$row.$run.swaps)"
		count=$(grep -c '^ok' "$swaps" 2>/dev/null || true)
		SWAPS[$row]="${SWAPS[$row]:-}${SWAPS[$row]:+ }${count:-0}"
		SWAPT[$row]="${SWAPT[$row]:-} $(awk '/^ok/ {printf "%s ", $2}' "$swaps" 2>/dev/null || true)"
		((${count:-0} > 0)) || note "$row" "run $run: no swap completed during the window"
	fi
	f=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
	add_fig "$row" "$col" "${f:-0}"
	rate_problems "$row" "$run" "$col" "$out"
}

# rate_problems ROW RUN COL OUT: note failed requests and a rate under 95 % of BENCH_RPS.
rate_problems() {
	local row=$1 run=$2 col=$3 out=$4 failed rate
	failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$out")
	rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$out")
	if [[ -z $rate ]]; then
		note "$row" "run $run $col: rateload: $(tail -1 <<<"$out")"
		return
	fi
	((failed == 0)) || note "$row" "run $run $col: $failed requests failed (first: $(sed -n 's/.* first_error=//p' <<<"$out"))"
	awk -v r="$rate" -v w="$BENCH_RPS" 'BEGIN { exit !(r < 0.95 * w) }' &&
		note "$row" "run $run $col: answered $rate req/s of $BENCH_RPS (did not keep up)"
	return 0
}

# swap_loop ROW FILE WAIT SECONDS: after WAIT seconds, swap ROW's configuration every
# BENCH_SWAP_EVERY seconds (start to start; at once if a swap took longer) until SECONDS
# more have passed; one line per swap in FILE ("ok <seconds it took>" or "failed").
# Fails if a swap failed.
swap_loop() {
	local row=$1 file=$2 end t0 took rc=0
	: >"$file"
	sleep "$3"
	end=$(awk -v a="$(date +%s.%N)" -v s="$4" 'BEGIN {printf "%.3f", a+s}')
	while awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n < e) }'; do
		t0=$(date +%s.%N)
		if swap_once "$row" >>"$file.log" 2>&1; then
			took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b-a}')
			echo "ok $took" >>"$file"
		else
			echo "failed (see $file.log)" >>"$file"
			rc=1
		fi
		sleep "$(awk -v a="$t0" -v b="$(date +%s.%N)" -v e="$BENCH_SWAP_EVERY" 'BEGIN {d = e-(b-a); if (d < 0) d = 0; printf "%.2f", d}')"
	done
	return "$rc"
}

# swap_once ROW: one configuration swap of ROW's server; for edge, returns once the agent
# serves the new commit, for nginx and HAProxy once signalled (their masters reload in the
# background; `nginx -s reload` would parse the whole configuration in the signalling
# process too), for Caddy once its admin API has loaded the configuration.
swap_once() {
	local row=$1 peers=$SET1K/peers
	case $row in
	edge*) edge_swap "$row" ;;
	nginx) kill -HUP "${PID[nginx]}" ;;
	haproxy) kill -USR2 "${PID[haproxy]}" ;;
	caddy)
		env HOME="$WORK/caddy-home" caddy reload --force --adapter caddyfile --config "$peers/Caddyfile" \
			--address "127.0.0.1:$CADDY_ADMIN"
		;;
	esac
}

# prepare_swaps ROW: commit, ahead of the measured window, the changes edge_swap will put
# on ROW's branch one by one: each changes the target site (edit_target) and has the one
# before as parent; their hashes go to $WORK/ROW.pending, one a line. Making a commit in a repo of 10,000 sites costs git
# 20-30 ms of CPU (update-index and write-tree of a 10,000-entry index), work done on a
# developer's machine or in CI, not on an edge server; within the window it would be
# charged to the 10,000-site row's latency alone.
prepare_swaps() {
	local row=$1 repo=${DIR[$1]}/repo parent rev i n
	n=$(awk -v s="$BENCH_SECONDS" -v e="$BENCH_SWAP_EVERY" -v w="$BENCH_WARMUP" 'BEGIN {printf "%d", (s+w)/e + 2}')
	parent=$(git -C "$repo" rev-parse HEAD)
	: >"$WORK/$row.pending"
	for ((i = 0; i < n; i++)); do
		rev=$(commit_one "$repo" "$(edit_target "$row")" "$parent")
		echo "$rev" >>"$WORK/$row.pending"
		parent=$rev
	done
}

# edit_target ROW: change the target site's file in ROW's config repo (its "/swap-<time>"
# route, replaced each time) and print the file's path in the repo.
edit_target() {
	local site=${HOST[$1]%%.*}
	local file=${DIR[$1]}/repo/sites/$site.cue
	sed -i '/"\/swap-/d' "$file"
	sed -i "\$i\\	routes: \"/swap-$(date +%s%N)\": upstreams: [\"http://$BACKEND\"]" "$file"
	echo "sites/$site.cue"
}

# edge_swap ROW: move ROW's branch to the next commit prepare_swaps made (or, with none
# left, commit a change now), SIGHUP the agent (poll now) and wait up to 60 s until its
# /status serves that commit.
edge_swap() {
	local row=$1 repo=${DIR[$1]}/repo rev i pending=$WORK/$1.pending
	rev=$(head -1 "$pending" 2>/dev/null || true)
	if [[ -n $rev ]]; then
		sed -i 1d "$pending"
	else
		rev=$(commit_one "$repo" "$(edit_target "$row")" HEAD)
	fi
	git -C "$repo" update-ref HEAD "$rev"
	kill -HUP "${PID[$row]}"
	for ((i = 0; i < 300; i++)); do
		[[ $(served_commit "$row") == "$rev" ]] && return 0
		sleep 0.2
	done
	echo "edge_swap: $row does not serve $rev after 60s"
	return 1
}

# commit_one REPO PATH PARENT: commit the working copy of PATH alone on PARENT (a commit or
# HEAD) and print the commit; no branch moves. Plumbing instead of `git commit -a`, which
# stats all of the repo's files (10,000 sites: about 80 ms of CPU per swap).
commit_one() {
	local repo=$1 path=$2 parent=$3 blob tree rev
	blob=$(git -C "$repo" hash-object -w -- "$path")
	git -C "$repo" update-index --cacheinfo "100644,$blob,$path"
	tree=$(git -C "$repo" write-tree)
	rev=$(git -C "$repo" -c user.name=bench -c user.email=bench@bench.test \
		commit-tree "$tree" -p "$parent" -m "bench: swap")
	echo "$rev"
}

# served_commit ROW: the commit ROW's agent serves, from its /status (?sites=problems: not
# every site's state, which at 10,000 sites would cost the server more than the swap).
served_commit() {
	curl -s --max-time 5 "http://${ADMIN[$1]}/status?sites=problems" | sed -n 's/^ *"commit": "\([0-9a-f]*\)".*/\1/p' | head -1
}
