// Command rateload is the fixed-rate latency client of tests/bench/peers.sh: GETs over
// HTTP/2 at a constant total rate (open loop: each request is sent at its scheduled time
// whether or not the ones before have answered), spread over -c connections, and the
// latency percentiles of the requests scheduled during -d after -warmup.
//
// Latency runs from a request's scheduled time to the end of its body, so a server that
// stalls is charged for the whole stall, not only for the requests in flight when it began
// (no coordinated omission). Each connection is its own net/http Transport: after a
// GOAWAY (a peer's graceful reload) it dials again and retries the requests the server
// did not process, as a browser does; h2load stops the connection's requests instead.
//
// It prints one line: "scheduled=N ok=N failed=N rate=R p50_ms=X p90_ms=X p99_ms=X
// max_ms=X [first_error="..."]", rate being the answered requests per second of the
// measured window; with -detail a second one, "p999_ms=X lag_p50_ms=X lag_p99_ms=X
// lag_p999_ms=X svc_p50_ms=X svc_p90_ms=X svc_p99_ms=X svc_p999_ms=X" (lag: how late the
// client itself started a request; svc: the latency less the lag). A failed
// request (an error, a status other than 200, no answer within -timeout) counts in the
// percentiles as answered after -timeout.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// config is what the command line asks for.
type config struct {
	url, connect, caFile string
	conns                int
	rate                 float64
	duration, warmup     time.Duration
	timeout              time.Duration
	detail               bool
	dumpFile             string
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "https URL to GET (its host is the SNI and :authority)")
	flag.StringVar(&c.connect, "connect", "", "host:port to connect to instead of the URL's")
	flag.StringVar(&c.caFile, "ca", "", "PEM file of the CA to trust")
	flag.IntVar(&c.conns, "c", 10, "HTTP/2 connections")
	flag.Float64Var(&c.rate, "rate", 2000, "requests per second, in total over the connections")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "a request not answered by then fails")
	flag.BoolVar(&c.detail, "detail", false, "print a second line: p99.9, the client's own lag (scheduled time to request start) at p50/p99/p99.9 and the latency less the lag (svc) at p50/p90/p99/p99.9")
	flag.StringVar(&c.dumpFile, "dump", "", "write one line per measured request to this file: latency and lag in µs, failed (0/1), scheduled time in Unix µs")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "rateload: %v\n", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.url == "" || c.conns < 1 || c.rate <= 0 || c.duration <= 0 {
		return errors.New("-url is required, -c, -rate and -d must be positive")
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("no certificate in -ca")
	}
	clients := make([]*http.Client, c.conns)
	for i := range clients {
		tr := newTransport(c.connect, pool)
		defer tr.CloseIdleConnections()
		clients[i] = &http.Client{Transport: tr, Timeout: c.timeout}
	}
	res := load(clients, c)
	fmt.Println(res.summary(c.duration, c.timeout))
	if c.detail {
		fmt.Println(res.detail(c.timeout))
	}
	if c.dumpFile != "" {
		return writeDump(c.dumpFile, res)
	}
	return nil
}

// newTransport returns an HTTP/2 transport to connect (if set). It holds one connection
// while that one takes new streams; no cap on connections, so a connection draining after
// a GOAWAY does not hold back the new one.
func newTransport(connect string, pool *x509.CertPool) *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if connect != "" {
				addr = connect
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
}

// get does one GET and returns nil if it answered 200 with its body read, else what went
// wrong.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// writeDump writes res's samples to the file name.
func writeDump(name string, res result) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := res.dump(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Close()
}
