// Command backend is the tiny upstream of tests/bench/peers.sh: it answers every request with
// the same small body over HTTP/1.1 keep-alive, so the benchmark measures the proxies in
// front of it and not the application.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"time"
)

// body is the fixed response, a typical tiny API answer.
var body = []byte("hello from the bench backend\n")

func main() {
	addr := flag.String("listen", "127.0.0.1:3001", "address to listen on (loopback)")
	size := flag.Int("text-size", 0, "answer with this many bytes of text (HTML-like, compressible) instead of the tiny body; for tests/bench/compress.sh")
	flag.Parse()
	if *size > 0 {
		body = textBody(*size)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           http.HandlerFunc(serve),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
	}
	fmt.Printf("backend listening on %s\n", *addr)
	log.Fatal(srv.ListenAndServe())
}

func serve(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	_, _ = w.Write(body)
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
