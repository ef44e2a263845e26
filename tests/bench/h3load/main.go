// Command h3load is the load client of tests/bench/http3.sh: the same Go client for HTTP/3
// (quic-go's http3.Transport) and HTTP/2 (net/http), so the protocols are compared with
// the same client code, concurrency and request. -c connections each carry -m concurrent
// streams, every stream issuing GETs back to back for -d after -warmup. It prints one
// line: "<proto> <req/s> req/s, <ok> ok, <failed> failed".
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
	flag.Parse()
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
	var ok, failed atomic.Int64
	var measuring atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range c.conns {
		client, closeFn, err := newClient(c, pool)
		if err != nil {
			cancel()
			return err
		}
		defer closeFn()
		for range c.streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					good := get(ctx, client, c.url)
					if !measuring.Load() {
						continue
					}
					if good {
						ok.Add(1)
					} else if ctx.Err() == nil {
						failed.Add(1)
					}
				}
			}()
		}
	}
	time.Sleep(c.warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(c.duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	n, f := ok.Load(), failed.Load()
	cancel()
	wg.Wait()
	fmt.Printf("%s %.0f req/s, %d ok, %d failed\n", c.proto, float64(n)/elapsed.Seconds(), n, f)
	return nil
}

// newClient returns a client holding one connection of c.proto to c.connect.
func newClient(c config, pool *x509.CertPool) (*http.Client, func(), error) {
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
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}, func() { tr.Close() }, nil
	case "h2":
		tr := &http.Transport{
			TLSClientConfig:   tlsCfg,
			ForceAttemptHTTP2: true,
			MaxConnsPerHost:   1, // one HTTP/2 connection carries every stream of this client
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, c.connect)
			},
		}
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("-proto %q: want h3 or h2", c.proto)
}

// get does one GET and reports whether it answered 200 with its body read.
func get(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK
}
