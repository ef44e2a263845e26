# The report of tests/bench/peers.sh: medians with min-max, ratios of the medians, load
# averages, versions (sourced by peers.sh, never run).
# shellcheck shell=bash

# AWK_STATS is awk code: stats(list, st) sets st["med"], st["min"], st["max"] of the
# space-separated numbers of list and returns how many there are.
AWK_STATS='
function stats(list, st,  a, n, i, j, x) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j+1] = a[j]; a[j+1] = x }
	if (n) { st["min"] = a[1] + 0; st["max"] = a[n] + 0; st["med"] = n % 2 ? a[(n+1)/2] + 0 : (a[n/2] + a[n/2+1]) / 2 }
	return n
}'

# stats N...: "median min max" of the numbers (nothing if none).
stats() { awk -v l="$*" "$AWK_STATS"' BEGIN { if (stats(l, st)) print st["med"], st["min"], st["max"] }'; }

# cell FORMAT SCALE N...: the median of the numbers times SCALE with min-max in
# parentheses, printed with FORMAT ("int": thousands separated; else a printf format),
# e.g. "9,850 (9,610-10,020)"; "-" if there is no number above 0.
cell() {
	awk -v f="$1" -v s="$2" -v l="${*:3}" "$AWK_STATS"'
		function fmt(x,  r, neg) {
			if (f != "int") return sprintf(f, x)
			r = sprintf("%.0f", x); neg = r ~ /^-/; if (neg) r = substr(r, 2)
			while (r ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", r)
			return (neg ? "-" : "") r
		}
		BEGIN {
			if (!stats(l, st) || st["max"] <= 0) { print "-"; exit }
			if (st["min"] == st["max"]) print fmt(st["med"] * s)
			else printf "%s (%s-%s)\n", fmt(st["med"] * s), fmt(st["min"] * s), fmt(st["max"] * s)
		}'
}

# ratio_of ROW1 ROW2 COL: the ratio of the medians of two rows' COL figures, or n/a.
ratio_of() {
	awk -v a="${FIG[$1,$3]:-}" -v b="${FIG[$2,$3]:-}" "$AWK_STATS"'
		BEGIN { if (stats(a, x) && stats(b, y) && x["med"] > 0 && y["med"] > 0) printf "%.2f", x["med"] / y["med"]; else printf "n/a" }'
}

# label ROW: the row's name in the report (from LABEL once set_labels ran).
label() {
	if [[ -n ${LABEL[$1]:-} ]]; then
		echo "${LABEL[$1]}"
		return
	fi
	case $1 in
	edge1k) echo "edge, $(cell int 1 "$BENCH_SITES") sites" ;;
	caddy) echo "caddy $(caddy version | awk '{print $1}')" ;;
	nginx) echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" ;;
	haproxy) echo "haproxy $(haproxy -v | awk 'NR==1 {print $3}')" ;;
	edge10k) echo "edge, $(cell int 1 "$BENCH_BIG_SITES") sites" ;;
	edge1) echo "edge, 1 site" ;;
	esac
}

# measured: the rows that have figures, in report order.
measured() {
	local row
	for row in $ROWS; do
		if wanted "$row" && [[ -n ${FIG[$row,h2]:-} ]]; then printf '%s ' "$row"; fi
	done
}

declare -A LABEL

# set_labels: LABEL of every row, asking each peer its version once.
set_labels() {
	local row
	for row in $ROWS; do LABEL[$row]=$(label "$row"); done
}

report() {
	local rows
	set_labels
	rows=$(measured)
	echo "## edge vs peers, loopback, $(nproc) cores shared with the load generator"
	echo
	if [[ -z $rows ]]; then
		echo "$(date -u +%FT%TZ), edge starts only (BENCH_RUNS=$BENCH_RUNS)."
		echo
		report_starts
		report_versions
		return
	fi
	echo "$(date -u +%FT%TZ), $BENCH_RUNS runs interleaved (a round is: ${rows% }), ${BENCH_SECONDS}s per figure after ${BENCH_WARMUP}s of warm-up, ECDSA P-256, one load-generator thread, $BENCH_CONNS connections (h2: $BENCH_STREAMS streams each); p99 at $(cell int 1 "$BENCH_RPS") req/s over $BENCH_RPS_CONNS h2 connections. Peers serve the same $(cell int 1 "$BENCH_SITES") sites. Each figure: median of the runs (min-max). 1-minute load average before the row-runs: $(load_range)."
	echo
	report_main "$rows"
	report_sizes "$rows"
	report_ratios "$rows"
	report_cpu "$rows"
	report_starts
	report_tail "$rows"
	report_profiles
}

# started: the edge rows whose starts were measured, in report order.
started() {
	local row
	for row in $ROWS; do
		if wanted "$row" && [[ -n ${START[$row,cold]:-} ]]; then printf '%s ' "$row"; fi
	done
}

# report_starts: the table of the edge rows' cold and warm starts.
report_starts() {
	local row rows
	rows=$(started)
	[[ -n $rows ]] || return 0
	echo "Edge from start to ready (/readyz 200) with the key directory; cold: an empty state dir (clone, every site evaluated); warm: restarted on the state dir the last start left (accepted revision, evaluation cache), $BENCH_RESTARTS times, median (min-max). RSS (MiB) at the moment /readyz turns 200 and 3 s later."
	echo
	echo "| server | cold: ready (s) | cold: RSS at ready | cold: RSS 3 s later | warm: ready (s) | warm: RSS at ready | warm: RSS 3 s later | load avg before |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for row in $rows; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$row")" \
			"$(cell %.2f 1 "${START[$row,cold]}")" "$(cell int 1 "${START_RSS[$row,cold]}")" "$(cell int 1 "${START_RSS3[$row,cold]}")" \
			"$(cell %.2f 1 "${START[$row,warm]:-}")" "$(cell int 1 "${START_RSS[$row,warm]:-}")" "$(cell int 1 "${START_RSS3[$row,warm]:-}")" \
			"$(cell %.2f 1 "${START_LOAD[$row,all]}")"
	done
	echo
}

# load_range: the lowest and highest load average recorded.
load_range() {
	local all="" row
	for row in $ROWS; do all+=" ${LOADS[$row]:-}"; done
	stats "$all" | awk '{ print $2 "-" $3 }'
}

# report_main ROWS: the table of the keep-alive, new-connection and latency figures.
report_main() {
	local row
	echo "| server | h2 req/s | h1 req/s | new TLS conn/s | p99 ms | p99 ms, swapping | swaps/run | ready after (s) | RSS after load (MiB) | RSS at end (MiB) | load avg before |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for row in $1; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$row")" \
			"$(cell int 1 "${FIG[$row,h2]}")" "$(cell int 1 "${FIG[$row,h1]}")" "$(cell int 1 "${FIG[$row,conn]}")" \
			"$(cell %.1f 1 "${FIG[$row,p99]}")" "$(cell %.1f 1 "${FIG[$row,swap]}")" "$(cell int 1 "${SWAPS[$row]:-}")" \
			"${READY[$row]:-}" "${RSS_LOAD[$row]:-}" "${RSS[$row]:-}" "$(cell %.2f 1 "${LOADS[$row]:-}")"
	done
	echo
}

# report_sizes ROWS: the table of the HTTP/1.1 8 KiB and 64 KiB figures (MB/s of body:
# req/s x size, MB = 10^6 bytes).
report_sizes() {
	local row
	echo "| server | h1 8 KiB req/s | h1 8 KiB MB/s | h1 64 KiB req/s | h1 64 KiB MB/s |"
	echo "|---|---:|---:|---:|---:|"
	for row in $1; do
		printf '| %s | %s | %s | %s | %s |\n' "$(label "$row")" \
			"$(cell int 1 "${FIG[$row,k8]}")" "$(cell %.0f 0.008192 "${FIG[$row,k8]}")" \
			"$(cell int 1 "${FIG[$row,k64]}")" "$(cell %.0f 0.065536 "${FIG[$row,k64]}")"
	done
	echo
}

# report_cpu ROWS: the server's CPU per request in the h2load and each wrk figure, the
# machine's busy share meanwhile, and edge 1k's CPU per request over each peer's.
report_cpu() {
	local row col line
	echo "Server CPU per request, µs (utime + stime of the server and its workers over the measured run, / requests), and how busy the machine was meanwhile (% of all cores; h1 run). A row slower than another at the same µs per request lacked CPU (other work took it), it did not cost more:"
	echo
	echo "| server | h2 | h1 | new TLS conn | h1 8 KiB | h1 64 KiB | machine busy % (h1) |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for row in $1; do
		line="| $(label "$row")"
		for col in h2 h1 conn k8 k64; do line+=" | $(cell %.1f 1 "${FIG[$row,cpu_$col]:-}")"; done
		echo "$line | $(cell %.0f 1 "${FIG[$row,busy_h1]:-}") |"
	done
	if [[ " $1 " == *" edge1k "* ]]; then # ratios: below 1.0, edge 1k costs less
		for row in caddy nginx haproxy edge10k edge1; do
			[[ " $1 " == *" $row "* ]] || continue
			line="| ratio ${LABEL[edge1k]} / ${LABEL[$row]}"
			for col in h2 h1 conn k8 k64; do line+=" | $(ratio_of edge1k "$row" "cpu_$col")"; done
			echo "$line | |"
		done
	fi
	echo
}

# ratio_row NAME A B: one line of the ratio table, A's medians over B's.
ratio_row() {
	local col line="| $1"
	for col in $COLS; do line+=" | $(ratio_of "$2" "$3" "$col")"; done
	echo "$line |"
}

# report_ratios ROWS: edge 1k over each peer, and edge 10k over edge 1, for every column.
report_ratios() {
	local row
	[[ " $1 " == *" edge1k "* || (" $1 " == *" edge10k "* && " $1 " == *" edge1 "*) ]] || return 0
	echo "Ratios of the medians (req/s: above 1.0 is better for the first server; p99: below 1.0 is better):"
	echo
	echo "| ratio | h2 | h1 | new TLS conn | h1 8 KiB | h1 64 KiB | p99 | p99 swapping |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	if [[ " $1 " == *" edge1k "* ]]; then
		for row in caddy nginx haproxy; do
			[[ " $1 " == *" $row "* ]] && ratio_row "${LABEL[edge1k]} / ${LABEL[$row]}" edge1k "$row"
		done
	fi
	if [[ " $1 " == *" edge10k "* && " $1 " == *" edge1 "* ]]; then
		ratio_row "${LABEL[edge10k]} / ${LABEL[edge1]}" edge10k edge1
	fi
	echo
}

# report_tail ROWS: how the swaps were made, the versions, and the problems seen.
report_tail() {
	local row any=0
	local times=""
	for row in $1; do
		[[ -z ${SWAPT[$row]:-} ]] || times+="${times:+, }${LABEL[$row]} $(cell %.2f 1 "${SWAPT[$row]}")"
	done
	echo "Swaps: edge gets its branch moved to a commit (made before the window) changing a route of the target site and SIGHUP, and the swap ends when /status (polled every 0.2 s) serves the commit; nginx SIGHUP; HAProxy -W SIGUSR2; caddy reload --force (the peers reload their whole configuration, unchanged); one every ${BENCH_SWAP_EVERY}s (start to start). Seconds a swap took (edge: branch moved to serving; Caddy: the reload command; nginx and HAProxy: signalled only, they reload in the background): ${times:-none}. RSS after load: after the first round's figures, before its swaps; at end: after the last round. p99 runs from each request's scheduled time (open loop) to the end of its body."
	echo
	report_versions
	for row in $1; do
		if [[ -n ${NOTE[$row]:-} ]]; then
			((any++)) || echo "Notes (problems seen by the load generators):"
			echo "- $(label "$row"): ${NOTE[$row]}"
		fi
	done
	return 0
}

# report_versions: the tools', Go's, edge's and the kernel's versions.
report_versions() {
	echo "Versions: $(h2load --version | head -1), $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}'), rateload and edge built with $(go version | awk '{print $3}'), edge at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (modified)'), $(uname -sr)."
	echo
}
