#!/bin/sh
# Time for one agent to start serving N sites (default 1000) whose issued certificates are
# already in Vault: the real agent binary, a real Vault dev server, a git smart-HTTP repo.
# Prints "figure: ..." lines. Usage: tests/bench/issued-start.sh [N]
set -eu
cd "$(dirname "$0")/../.."
EDGE_BENCH_ISSUED="${1:-1000}" go test ./tests -run '^TestBenchAgentStartIssued$' -count=1 -v -timeout 30m | grep -E 'figure|^(ok|FAIL|---)'
