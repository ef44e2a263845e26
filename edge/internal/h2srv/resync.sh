#!/usr/bin/env bash
# resync.sh: compare this fork with, or move it to, a version of golang.org/x/net/http2
# (README.md). From this directory:
#
#   ./resync.sh diff v0.62.0           # the edge changes: upstream (imported as below) vs here
#   ./resync.sh move v0.62.0 v0.63.0   # re-import at v0.63.0 and re-apply the edge changes
#
# Importing copies the server side of x/net's http2 (FILES), renames the package to h2srv,
# drops the build constraint that leaves the server out from Go 1.27 on, points x/net's
# internal packages at ./internal, gofmts, and takes httpcommon from the
# Go toolchain's net/http/internal/httpcommon (what net/http's bundled server uses).
set -euo pipefail
FILES="ascii.go ciphers.go client_priority_go126.go client_priority_go127.go config.go
config_go125.go config_go126.go databuffer.go errors.go flow.go frame.go gotrack.go http2.go
pipe.go server.go server_common.go unencrypted.go write.go writesched.go writesched_common.go
writesched_priority_rfc7540.go writesched_priority_rfc9218.go writesched_random.go
writesched_roundrobin.go"
MOD=github.com/edgectl/edge/edge/internal/h2srv

# import VERSION DIR: the upstream files at VERSION, as this fork names them, into DIR.
import() {
	local src
	src=$(cd "$(git rev-parse --show-toplevel)" && go mod download -json "golang.org/x/net@$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	mkdir -p "$2/internal/httpsfv" "$2/internal/httpcommon"
	for f in $FILES; do cp "$src/http2/$f" "$2/$f"; done
	cp "$src/internal/httpsfv/httpsfv.go" "$2/internal/httpsfv/"
	cp "$(go env GOROOT)/src/net/http/internal/httpcommon/httpcommon.go" "$2/internal/httpcommon/"
	cp "$src/LICENSE" "$2/LICENSE"
	chmod -R u+w "$2"
	sed -i -E 's#^package http2( // import .*)?$#package h2srv#' "$2"/*.go
	# x/net builds these files only before Go 1.27 (then it wraps net/http's server);
	# the fork builds them with every Go.
	sed -i -z 's#//go:build !(go1.27 \&\& !http2legacy)\n\n##' "$2"/*.go
	sed -i "s#\"golang.org/x/net/internal/\(httpcommon\|httpsfv\)\"#\"$MOD/internal/\1\"#" "$2"/*.go
	gofmt -w "$2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case ${1:-} in
diff)
	import "$2" "$tmp/up"
	for f in $FILES internal/httpsfv/httpsfv.go internal/httpcommon/httpcommon.go LICENSE; do
		diff -u "$tmp/up/$f" "$f" --label "upstream/$f" --label "h2srv/$f" || true
	done
	;;
move)
	import "$2" "$tmp/old"
	import "$3" "$tmp/new"
	for f in $FILES; do diff -u "$tmp/old/$f" "$f" --label "a/$f" --label "b/$f" || true; done >"$tmp/edge.patch"
	cp -r "$tmp/new/." .
	patch -p1 <"$tmp/edge.patch"
	echo "moved to $3; now update README.md and run the tests (README.md, \"Re-sync\")"
	;;
*)
	sed -n '2,10p' "$0"
	exit 2
	;;
esac
