#!/usr/bin/env bash
# The whole test suite: formatting, vet, every test with the race detector, a short fuzz run.
# Needs only Go. Tests that drive curl, h2load, wrk, sshd, chromium, promtool, prometheus, knotd
# or the cue CLI skip when those are missing, except under CI=true, where .ci/run installs them
# and a missing tool is a failure. Browser screenshots go to $EDGE_TEST_ARTIFACTS
# (./test-artifacts).
# The first run builds a real Vault server (about 10 minutes) and the h2spec HTTP/2 conformance
# suite (half a minute) from the Go module proxy, cached in ~/.cache/edge afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tests/vaultserver/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# Screenshots of the browser tests (tests/ui_browser_test.go) and other test artifacts.
export EDGE_TEST_ARTIFACTS="${EDGE_TEST_ARTIFACTS:-$PWD/test-artifacts}"
mkdir -p "$EDGE_TEST_ARTIFACTS"

# The tools built from source (Vault, Pebble, h2spec) first, on their own timeout: a first
# build on a busy machine can outlast a test package's 45 minutes.
echo "== build the test tools"
go test -count=1 -timeout 90m -run '^TestCachedToolsBuild$' ./tests/testenv/

echo "== go test -race"
go test -race -timeout 45m -count=1 "$@" ./...

# Fuzz budgets are counts of executions (Nx), not durations: with a duration, go1.26's fuzz
# coordinator can fail a target with "context deadline exceeded" when the deadline fires
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race. Each count takes
# about 10-20 s on a quiet 2-core machine.
# The loader's fuzz target, seeded with the evaluation bombs of issue 9; it runs under a
# memory limit, so an input that blows up evaluation fails the run instead of the machine.
echo "== go test -fuzz FuzzLoad"
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 3000x -timeout 15m ./schema/

# The upstream response head reader of the proxy's direct forward, held to
# http.ReadResponse on whatever bytes the fuzzer makes.
echo "== go test -fuzz FuzzPlainHead"
go test -run '^$' -fuzz '^FuzzPlainHead$' -fuzztime 300000x -timeout 5m ./edge/proxy/

# The early route's ClientHello reader, held to crypto/tls (what GetConfigForClient
# sees) on whatever bytes the fuzzer makes; minimizing a 16 KiB seed takes long, hence
# the short minimization.
echo "== go test -fuzz FuzzHelloSNI"
go test -run '^$' -fuzz '^FuzzHelloSNI$' -fuzztime 150000x -fuzzminimizetime 5s -timeout 5m ./edge/

# Edge's HTTP/1.1 loop against net/http's server: the same bytes to both, the same answers.
echo "== go test -fuzz FuzzH1LoopMatchesNetHTTP"
go test -run '^$' -fuzz '^FuzzH1LoopMatchesNetHTTP$' -fuzztime 6000x -fuzzminimizetime 5s -timeout 5m ./edge/

# The plain-data fast path against CUE: a file it takes must give CUE's declaration.
echo "== go test -fuzz FuzzFastEvalMatchesCUE"
go test -run '^$' -fuzz '^FuzzFastEvalMatchesCUE$' -fuzztime 60000x -fuzzminimizetime 5s -timeout 5m ./schema/

# Edge's response-header writer against net/http's Header.WriteSubset.
echo "== go test -fuzz FuzzWriteHeader"
go test -run '^$' -fuzz '^FuzzWriteHeader$' -fuzztime 100000x -fuzzminimizetime 5s -timeout 5m ./edge/

# Edge's plain GET/HEAD header parser against net/http's ReadRequest.
echo "== go test -fuzz FuzzParseSimpleHead"
go test -run '^$' -fuzz '^FuzzParseSimpleHead$' -fuzztime 100000x -fuzzminimizetime 5s -timeout 5m ./edge/

# HTTP/3: reading a request from any request stream (frames, QPACK, validation).
echo "== go test -fuzz FuzzReadRequest"
go test -run '^$' -fuzz '^FuzzReadRequest$' -fuzztime 100000x -fuzzminimizetime 5s -timeout 5m ./edge/internal/h3srv/

# The request-target fast path shared by HTTP/1.1 and HTTP/3 against url.ParseRequestURI.
echo "== go test -fuzz FuzzSimpleMatchesParseRequestURI"
go test -run '^$' -fuzz '^FuzzSimpleMatchesParseRequestURI$' -fuzztime 200000x -fuzzminimizetime 5s -timeout 5m ./edge/internal/target/
