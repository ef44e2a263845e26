# Profiles of edge under each load of tests/bench/peers.sh (sourced by peers.sh, never run).
#
#   BENCH_PROFILE=/tmp/prof BENCH_RUNS=1 BENCH_ONLY="edge1k edge10k" tests/bench/peers.sh
#
# With BENCH_PROFILE set to a directory, the edge rows run with --debug-pprof and every
# figure of an edge row-run takes, over its measured window, a CPU profile
# (ROW.RUN.COL.cpu.pb.gz) and the allocations made in it (the difference of two /allocs
# snapshots, ROW.RUN.COL.allocs0 and allocs1). The report then gives, for each edge row
# and figure of the first run, the heap allocations (objects and bytes) per request and the
# functions with the most CPU (flat, and cumulative below the serving loops), as text
# files in the directory (ROW.COL.txt) and a summary table. The profiler's own cost (about
# 1-2 % at 100 samples a second) is in the figures of such a run: compare them with a run
# without BENCH_PROFILE, not with each other.
# shellcheck shell=bash

# profiling: whether this run profiles the edge row ROW.
profiling() { [[ -n ${BENCH_PROFILE:-} && $1 == edge* ]]; }

# prof_begin ROW RUN COL [DELAY]: after DELAY seconds (0), snapshot ROW's allocations and
# take a CPU profile of the next BENCH_SECONDS-1 seconds, in the background (PROF_PID).
# The snapshots are /heap?gc=1: Go's heap profile counts allocations up to the last
# collection, and a window at 10,000 sites may see none; the forced one makes it current.
prof_begin() {
	PROF_PID=""
	profiling "$1" || return 0
	local base=$BENCH_PROFILE/$1.$2.$3 url=http://${ADMIN[$1]}/debug/pprof secs=$((BENCH_SECONDS > 2 ? BENCH_SECONDS - 1 : 1))
	(
		sleep "${4:-0}"
		curl -s --max-time 10 -o "$base.allocs0" "$url/heap?gc=1"
		curl -s --max-time $((secs + 10)) -o "$base.cpu.pb.gz" "$url/profile?seconds=$secs"
	) &
	PROF_PID=$!
	PROF_BASE=$base
	PROF_URL=$url
}

# prof_end REQUESTS: wait for the CPU profile prof_begin started, snapshot the allocations
# again and record the requests of the window (for the per-request figures).
prof_end() {
	[[ -n ${PROF_PID:-} ]] || return 0
	wait "$PROF_PID" || true
	curl -s --max-time 10 -o "$PROF_BASE.allocs1" "$PROF_URL/heap?gc=1"
	echo "${1:-0}" >"$PROF_BASE.requests"
	PROF_PID=""
}

# prof_top FILE [PPROF ARGS...]: go tool pprof -top of FILE, without its header lines.
prof_top() {
	local file=$1
	shift
	go tool pprof -top "$@" "$file" 2>/dev/null | sed -n '/flat%/,$p'
}

# prof_allocs BASE: "objects bytes" allocated per request in BASE's window (the heap
# profile's estimate: Go samples one allocation per 512 KiB).
prof_allocs() {
	local n
	n=$(cat "$1.requests" 2>/dev/null || echo 0)
	go tool pprof -raw -sample_index=alloc_space -diff_base "$1.allocs0" "$1.allocs1" 2>/dev/null |
		awk -v n="$n" '
			/^Samples:/ { s = 1; next }
			/^Locations/ { s = 0 }
			s && $1 ~ /^-?[0-9]+$/ && $2 ~ /^-?[0-9]+$/ && $4 ~ /^-?[0-9]+:$/ { o += $1; b += $2 }
			END { if (n > 0) printf "%.1f %.0f", o / n, b / n; else print "- -" }'
}

# report_profiles: per edge row and figure of run 1, the allocations per request and the
# top of the CPU profile, into BENCH_PROFILE/ROW.COL.txt, and a summary table.
report_profiles() {
	[[ -n ${BENCH_PROFILE:-} ]] || return 0
	local row col base a
	echo
	echo "Profiles (BENCH_PROFILE=$BENCH_PROFILE, run 1; objects and bytes allocated per request,"
	echo "the three functions with the most CPU, flat; full tops in ROW.COL.txt):"
	echo
	echo "| row | figure | allocs/req | bytes/req | top CPU (flat %) |"
	echo "|---|---|---:|---:|---|"
	for row in $ROWS; do
		profiling "$row" && wanted "$row" || continue
		for col in $COLS; do
			base=$BENCH_PROFILE/$row.1.$col
			[[ -s $base.cpu.pb.gz ]] || continue
			read -r -a a <<<"$(prof_allocs "$base")"
			{
				echo "# $row $col: allocations per request: ${a[0]} objects, ${a[1]} bytes"
				echo "## CPU, flat"
				prof_top "$base.cpu.pb.gz" -nodecount=40
				echo "## CPU, cumulative"
				prof_top "$base.cpu.pb.gz" -cum -nodecount=60
				echo "## allocations in the window (bytes)"
				prof_top "$base.allocs1" -sample_index=alloc_space -diff_base "$base.allocs0" -nodecount=25
			} >"$BENCH_PROFILE/$row.$col.txt"
			printf '| %s | %s | %s | %s | %s |\n' "$row" "$col" "${a[0]}" "${a[1]}" \
				"$(prof_top "$base.cpu.pb.gz" -nodecount=3 | awk 'NR > 1 { n = $6; for (i = 7; i <= NF; i++) n = n " " $i; printf "%s%s %s", (NR > 2 ? "; " : ""), n, $2 }')"
		done
	done
}
