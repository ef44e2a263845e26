// Command h3load is the load client of tests/bench/http3.sh: the same Go client for HTTP/3
// (quic-go's http3.Transport) and HTTP/2 (net/http), so the protocols are compared with
// the same client code, concurrency and request. -c connections each carry -m concurrent
// streams, every stream issuing GETs back to back for -d after -warmup. It prints one
// line: "<proto> <req/s> req/s, <ok> ok, <failed> failed, server <µs> µs/req, client <µs>
// µs/req": the CPU time (user + system) per request over the measured window of the
// process -server-pid (from /proc/<pid>/stat, in 10 ms ticks; "-" without the flag) and of
// the client itself; then "latency p50 <µs> µs, p99 <µs> µs, p99.9 <µs> µs", the
// measured window's successful requests' latencies (latency.go). The client runs with GOGC=-gogc (1600): a small heap collected often
// would spend the cores the server shares with it. -cpuprofile writes the client's CPU
// profile of the measured window.
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
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// config is what the command line asks for.
type config struct {
	url, connect, caFile, proto string
	conns, streams              int
	duration, warmup            time.Duration
	serverPID, gogc             int
	cpuProfile                  string
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "URL to GET (its host is the SNI and :authority)")
	flag.StringVar(&c.connect, "connect", "", "host:port to connect to instead of the URL's")
	flag.StringVar(&c.caFile, "ca", "", "PEM file of the CA to trust")
	flag.StringVar(&c.proto, "proto", "h3", "h3 or h2")
	flag.IntVar(&c.conns, "c", 10, "connections")
	flag.IntVar(&c.streams, "m", 10, "concurrent streams per connection")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before")
	flag.IntVar(&c.serverPID, "server-pid", 0, "pid of the server: report its CPU time per request")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the client's CPU profile of the measured window to this file")
	flag.IntVar(&c.gogc, "gogc", 1600, "the client's GC target percentage (GOGC); the client's GC would take CPU from the server")
	flag.Parse()
	debug.SetGCPercent(c.gogc)
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "h3load: %v\n", err)
		os.Exit(1)
	}
}

func run(c config) error {
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("no certificate in -ca")
	}
	l := &load{}
	ctx, cancel := context.WithCancel(context.Background())
	var closers []func()
	defer func() { // the streams stop before their connections close
		cancel()
		l.wg.Wait()
		for _, f := range closers {
			f()
		}
	}()
	for range c.conns {
		rt, closeFn, err := newClient(c, pool)
		if err != nil {
			return err
		}
		closers = append(closers, closeFn)
		if err := l.streams(ctx, rt, c.url, c.streams); err != nil {
			return err
		}
	}
	time.Sleep(c.warmup)
	if err := measure(c, l); err != nil {
		return err
	}
	cancel()
	l.wg.Wait()
	fmt.Println(&l.lat)
	return nil
}

// load is the GETs under way and their counts in the measured window.
type load struct {
	ok, failed atomic.Int64
	measuring  atomic.Bool
	wg         sync.WaitGroup

	mu  sync.Mutex
	lat latencies // the streams' latencies, merged as they end
}

// streams starts n goroutines issuing GETs of url on rt back to back until ctx is done.
// Each goroutine makes its request once and sends it again and again (a GET without a
// body: a RoundTripper does not change it), so the client spends nothing per request on
// building one; ctx ends the requests in flight.
func (l *load) streams(ctx context.Context, rt http.RoundTripper, url string, n int) error {
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		l.wg.Add(1)
		go l.stream(ctx, rt, req)
	}
	return nil
}

// stream sends req on rt back to back until ctx is done, counting the requests of the
// measured window and their latencies.
func (l *load) stream(ctx context.Context, rt http.RoundTripper, req *http.Request) {
	defer l.wg.Done()
	lat := new(latencies)
	defer func() {
		l.mu.Lock()
		l.lat.merge(lat)
		l.mu.Unlock()
	}()
	for ctx.Err() == nil {
		start := time.Now()
		good := get(rt, req)
		if !l.measuring.Load() {
			continue
		}
		if good {
			lat.add(time.Since(start))
			l.ok.Add(1)
		} else if ctx.Err() == nil {
			l.failed.Add(1)
		}
	}
}

// measure counts the requests of the measured window with the CPU time they took, and
// prints the figures.
func measure(c config, l *load) error {
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	clock := &cpuClock{pid: c.serverPID}
	if err := clock.start(); err != nil {
		return fmt.Errorf("-server-pid: %w", err)
	}
	l.measuring.Store(true)
	start := time.Now()
	time.Sleep(c.duration)
	l.measuring.Store(false)
	elapsed := time.Since(start)
	if err := clock.stop(); err != nil {
		return fmt.Errorf("-server-pid: %w", err)
	}
	n, f := l.ok.Load(), l.failed.Load()
	server := "-"
	if c.serverPID > 0 {
		server = perRequest(clock.serverUsed, n)
	}
	fmt.Printf("%s %.0f req/s, %d ok, %d failed, server %s µs/req, client %s µs/req\n",
		c.proto, float64(n)/elapsed.Seconds(), n, f, server, perRequest(clock.selfUsed, n))
	return nil
}

// newClient returns a round tripper holding one connection of c.proto to c.connect. The
// requests go to it directly, not through an http.Client (no redirects to follow, and no
// per-request timer and context for a timeout: the run's context ends them).
func newClient(c config, pool *x509.CertPool) (http.RoundTripper, func(), error) {
	tlsCfg := &tls.Config{RootCAs: pool}
	switch c.proto {
	case "h3":
		tr := &http3.Transport{
			TLSClientConfig: tlsCfg,
			QUICConfig:      &quic.Config{MaxIncomingStreams: -1},
			Dial: func(ctx context.Context, _ string, t *tls.Config, q *quic.Config) (*quic.Conn, error) {
				return quic.DialAddrEarly(ctx, c.connect, t, q)
			},
		}
		return tr, func() { tr.Close() }, nil
	case "h2":
		tr := &http.Transport{
			TLSClientConfig:   tlsCfg,
			ForceAttemptHTTP2: true,
			MaxConnsPerHost:   1, // one HTTP/2 connection carries every stream of this client
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, c.connect)
			},
		}
		return tr, tr.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("-proto %q: want h3 or h2", c.proto)
}

// get sends req and reports whether it answered 200 with its body read.
func get(rt http.RoundTripper, req *http.Request) bool {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK
}
