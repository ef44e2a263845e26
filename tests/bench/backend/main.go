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
	flag.Parse()
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
