// Command passthrough is the passthrough benchmark's three parts (tests/bench/passthrough.sh
// drives them): a TLS backend terminating TLS itself, an edge serving one passthrough site
// in front of it, and a load generator measuring new connections per second (full TLS
// handshake with the backend, one line echoed, close) and MB/s (bulk downloads through
// open connections).
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/site"
)

func main() {
	role := flag.String("role", "", "backend, edge or load")
	listen := flag.String("listen", "127.0.0.1:0", "backend, edge: address")
	upstream := flag.String("upstream", "", "edge: the backend's address (site pt.bench.test)")
	echoAddr := flag.String("echo", "", "edge: the echo backend's address (site raw.bench.test)")
	httpAddr := flag.String("http", "", "edge: an HTTP backend's address: adds a terminated site for localhost proxying to it (new TLS connections through the same listener)")
	target := flag.String("target", "", "load: the address to connect to")
	sni := flag.String("sni", "pt.bench.test", "load: the server name")
	mode := flag.String("mode", "conns", "load: conns (new connections per second), raw (the same without TLS behind the ClientHello) or bulk (MB/s)")
	seconds := flag.Duration("duration", 5*time.Second, "load: duration")
	conns := flag.Int("c", 16, "load: concurrent connections")
	flag.Parse()
	switch *role {
	case "backend":
		backend(*listen)
	case "echo":
		echo(*listen)
	case "http":
		httpBackend(*listen)
	case "edge":
		runEdge(*listen, *upstream, *echoAddr, *httpAddr)
	case "load":
		switch *mode {
		case "bulk":
			fmt.Printf("%.1f\n", bulk(*target, *sni, *conns, *seconds))
		case "raw":
			fmt.Printf("%.0f\n", rawConnsPerSecond(*target, *sni, *conns, *seconds))
		default:
			fmt.Printf("%.0f\n", connsPerSecond(*target, *sni, *conns, *seconds))
		}
	default:
		log.Fatal("-role backend|edge|load")
	}
}

// backend serves TLS with a fresh ECDSA P-256 certificate for *.bench.test: each line is
// echoed, "bulk N" answers N bytes.
func backend(addr string) {
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{benchCert("*.bench.test")},
		SessionTicketsDisabled: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	block := make([]byte, 1<<20)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				var n int
				if _, err := fmt.Sscanf(line, "bulk %d", &n); err != nil {
					c.Write([]byte(line))
					continue
				}
				for n > 0 {
					k := min(n, len(block))
					if _, err := c.Write(block[:k]); err != nil {
						return
					}
					n -= k
				}
			}
		}()
	}
}

// benchCert returns a fresh self-signed ECDSA P-256 certificate for names, Leaf set.
func benchCert(names ...string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// httpBackend serves plain HTTP/1.1 answering "ok" to everything.
func httpBackend(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })))
}

// runEdge serves two passthrough sites, pt.bench.test to upstream and raw.bench.test to
// echoAddr, and with httpAddr a terminated site for localhost proxying to it, until SIGTERM.
func runEdge(listen, upstream, echoAddr, httpAddr string) {
	srv := edge.NewServer(edge.Options{Listen: listen, HTTPListen: edge.Off, AdminListen: edge.Off,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	pt := &edge.Site{Site: site.Site{Name: "pt", Hosts: []string{"pt.bench.test"},
		Passthrough: &site.Passthrough{Upstreams: []string{upstream}}}}
	raw := &edge.Site{Site: site.Site{Name: "raw", Hosts: []string{"raw.bench.test"},
		Passthrough: &site.Passthrough{Upstreams: []string{echoAddr}}}}
	sites := []*edge.Site{pt, raw}
	if httpAddr != "" {
		sites = append(sites, &edge.Site{Site: site.Site{Name: "tls", Hosts: []string{"localhost"},
			Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{{Scheme: "http", Host: httpAddr}}}}},
			Certificates: []tls.Certificate{benchCert("localhost")}})
	}
	if err := srv.Publish(1, "bench", sites); err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.Addr())
	if p := os.Getenv("PT_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
}

// connsPerSecond runs c workers each connecting, handshaking, echoing one line and closing,
// for d; it returns completed connections per second (a failure aborts).
func connsPerSecond(target, sni string, c int, d time.Duration) float64 {
	var done atomic.Int64
	conf := &tls.Config{ServerName: sni, InsecureSkipVerify: true, ClientSessionCache: nil}
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for time.Now().Before(end) {
				conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", target, conf)
				if err != nil {
					log.Fatal(err)
				}
				if _, err := io.WriteString(conn, "ping\n"); err != nil {
					log.Fatal(err)
				}
				if _, err := io.ReadFull(conn, buf[:5]); err != nil || !strings.HasPrefix(string(buf[:5]), "ping") {
					log.Fatalf("echo: %q %v", buf[:5], err)
				}
				conn.Close()
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}

// bulk runs c connections downloading 64 MiB at a time for d; it returns MB/s (10^6).
func bulk(target, sni string, c int, d time.Duration) float64 {
	var bytes atomic.Int64
	conf := &tls.Config{ServerName: sni, InsecureSkipVerify: true}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := tls.Dial("tcp", target, conf)
			if err != nil {
				log.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, 256<<10)
			for time.Now().Before(end) {
				const n = 64 << 20
				fmt.Fprintf(conn, "bulk %d\n", n)
				for got := 0; got < n; {
					k, err := conn.Read(buf)
					if err != nil {
						log.Fatal(err)
					}
					got += k
					bytes.Add(int64(k))
				}
			}
		}()
	}
	wg.Wait()
	return float64(bytes.Load()) / time.Since(start).Seconds() / 1e6
}
