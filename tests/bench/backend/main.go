// Command backend is the tiny upstream of tests/bench/peers.sh: it answers every request with
// the same small body over HTTP/1.1 keep-alive, so the benchmark measures the proxies in
// front of it and not the application. GET /<n>k (n from 1 to 1024, e.g. /8k, /64k)
// answers n KiB instead, the same bytes every time, so page-sized responses can be measured
// too.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// body is the fixed response, a typical tiny API answer.
var body = []byte("hello from the bench backend\n")

// maxKiB bounds the sized bodies /<n>k.
const maxKiB = 1024

// sized holds the bodies of /<n>k made so far, by n.
var sized sync.Map

func main() {
	addr := flag.String("listen", "127.0.0.1:3001", "address to listen on (loopback)")
	size := flag.Int("text-size", 0, "answer every path with this many bytes of text (HTML-like, compressible) instead of the tiny body; for tests/bench/compress.sh")
	flag.Parse()
	if *size > 0 {
		body = textBody(*size)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           handler(*size > 0),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	fmt.Printf("backend listening on %s\n", *addr)
	log.Fatal(srv.ListenAndServe())
}

// handler answers body on every path or, unless fixed, n KiB on /<n>k.
func handler(fixed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := body
		if !fixed {
			if n, ok := sizeKiB(r.URL.Path); ok {
				b = sizedBody(n)
			}
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		_, _ = w.Write(b)
	})
}

// sizeKiB parses "/<n>k" with 1 <= n <= maxKiB.
func sizeKiB(path string) (int, bool) {
	s, ok := strings.CutSuffix(strings.TrimPrefix(path, "/"), "k")
	if !ok || s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxKiB {
		return 0, false
	}
	return n, true
}

// sizedBody returns the n KiB body, made once.
func sizedBody(n int) []byte {
	if b, ok := sized.Load(n); ok {
		return b.([]byte)
	}
	b, _ := sized.LoadOrStore(n, textBody(n<<10))
	return b.([]byte)
}

// textBody returns n bytes of text that compresses about as well as a web page (a ratio
// of 4 to 8): HTML-like markup whose words and numbers vary from line to line.
func textBody(n int) []byte {
	words := []string{"edge", "site", "route", "upstream", "certificate", "request", "response", "header",
		"compression", "cache", "origin", "stream", "server", "client", "config", "commit"}
	var b []byte
	x := uint32(12345)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "<li class=\"item-%d\"><a href=\"/p/%d\">", i%7, i)
		for j := 0; j < 8; j++ {
			x = x*1664525 + 1013904223 // a fixed LCG: the same body every run
			b = append(b, words[x>>28]...)
			b = fmt.Appendf(b, " %d ", x>>20&1023)
		}
		b = append(b, "</a></li>\n"...)
	}
	return b[:n]
}
