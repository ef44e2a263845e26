package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// echo serves raw TCP, echoing every byte: behind a passthrough proxy it isolates the
// proxy's cost per connection from the TLS handshake's.
func echo(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// clientHello returns the first flight of Go's TLS client for sni: one ClientHello record.
func clientHello(sni string) []byte {
	a, b := net.Pipe()
	go func() {
		tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		log.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		log.Fatal(err)
	}
	a.Close()
	b.Close()
	return append(hdr, body...)
}

// rawConnsPerSecond runs c workers each connecting, sending a real ClientHello for sni,
// reading it back from the echo backend and closing, for d.
func rawConnsPerSecond(target, sni string, c int, d time.Duration) float64 {
	hello := clientHello(sni)
	var done atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(hello))
			for time.Now().Before(end) {
				conn, err := net.DialTimeout("tcp", target, 10*time.Second)
				if err != nil {
					log.Fatal(err)
				}
				if _, err := conn.Write(hello); err != nil {
					log.Fatal(err)
				}
				if _, err := io.ReadFull(conn, buf); err != nil || !bytes.Equal(buf, hello) {
					log.Fatalf("echo: %v", err)
				}
				conn.Close()
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}
