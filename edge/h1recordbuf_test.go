package edge

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// A proxied response whose body fits one TLS record with its head (8 KiB) leaves in one
// record, not two (the connection's 4 KiB buffer flushed with the head, then the rest).
// The bytes are checked whole.
func TestH1ResponseOneRecord(t *testing.T) {
	for _, tc := range []struct {
		size, records int
	}{{8 << 10, 1}, {15 << 10, 1}} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			body := strings.Repeat("x", tc.size)
			up := edgetest.CannedUpstream(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"+
				"Content-Length: "+strconv.Itoa(tc.size)+"\r\n\r\n"+body)
			addr := startH1ProxyOn(t, up, "")
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			rc := &recordCounter{Conn: raw}
			c := tls.Client(rc, &tls.Config{RootCAs: ca(t).Pool(), ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
			defer c.Close()
			req := []byte("GET / HTTP/1.1\r\nHost: h1.test\r\n\r\n")
			buf := make([]byte, tc.size+4096)
			get := func() {
				t.Helper()
				if _, err := c.Write(req); err != nil {
					t.Fatal(err)
				}
				if err := readSizedResponse(c, buf, tc.size); err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(string(buf[:strings.Index(string(buf), "\r\n\r\n")+4+tc.size]), body) {
					t.Fatal("body differs")
				}
			}
			// crypto/tls grows its records to full size once 128 KB went out.
			for sent := 0; sent < 160<<10; sent += tc.size {
				get()
			}
			before := rc.records.Load()
			const n = 5
			for range n {
				get()
			}
			if got := rc.records.Load() - before; got > int64(n*tc.records) {
				t.Errorf("%d responses took %d TLS records, want %d", n, got, n*tc.records)
			}
		})
	}
}
