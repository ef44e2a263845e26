//go:build linux

package edge

import (
	"strconv"
	"testing"
)

// BenchmarkHTTP1Serve compares edge's HTTP/1.1 loop ("edge", h1conn.go) with net/http's
// server ("go", Options.HTTP1 = HTTP1Go) on proxied GETs of 15 B and 8 KiB over HTTP/1.1
// keep-alive on loopback (benchHTTP1Proxy: client, edge and upstream in one process, so
// cpu-µs/op and allocs/op count all three; only edge's server side differs).
func BenchmarkHTTP1Serve(b *testing.B) {
	for _, size := range []int{15, 8 << 10} {
		for _, mode := range []string{"go", "edge"} {
			b.Run(strconv.Itoa(size)+"/"+mode, func(b *testing.B) {
				benchHTTP1ProxyOn(b, size, h1Mode(mode))
			})
		}
	}
}

// h1Mode is the Options.HTTP1 of a benchmark's mode name.
func h1Mode(mode string) string {
	if mode == "go" {
		return HTTP1Go
	}
	return ""
}
