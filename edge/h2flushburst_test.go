//go:build linux

package edge

import (
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// recordCounter is a client's TCP connection that counts the TLS application-data records
// it reads (the server's records after the handshake: HTTP/2 frames).
type recordCounter struct {
	net.Conn
	hdr     [5]byte
	hdrLen  int // bytes of the current record header read
	left    int // bytes of the current record's body still to come
	records atomic.Int64
}

func (c *recordCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for b := p[:n]; len(b) > 0; {
		if c.left > 0 {
			k := min(c.left, len(b))
			c.left -= k
			b = b[k:]
			continue
		}
		k := copy(c.hdr[c.hdrLen:], b)
		c.hdrLen += k
		b = b[k:]
		if c.hdrLen == len(c.hdr) {
			c.hdrLen = 0
			c.left = int(c.hdr[3])<<8 | int(c.hdr[4])
			if c.hdr[0] == 23 { // application_data
				c.records.Add(1)
			}
		}
	}
	return n, err
}

// The HTTP/2 responses that finish while the serve goroutine holds its writes leave in
// one TLS record: over batches of concurrent proxied GETs, the client reads fewer records
// than responses (one record per response before: a flush per response).
func TestH2ResponsesShareRecords(t *testing.T) {
	addr := startH1ProxyOn(t, rawUpstream(t), "")
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rcnt := &recordCounter{Conn: raw}
	tc := tls.Client(rcnt, &tls.Config{RootCAs: ca(t).Pool(), ServerName: "h1.test", NextProtos: []string{"h2"}})
	tc.SetDeadline(time.Now().Add(time.Minute)) // a lost response fails, not hangs
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c, err := newH2Raw(tc, "h1.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.roundTrips(1); err != nil { // the SETTINGS exchange, the HPACK table filled
		t.Fatal(err)
	}
	const batches = 20
	before := rcnt.records.Load()
	for range batches {
		if err := c.roundTrips(h2RawStreams); err != nil {
			t.Fatal(err)
		}
	}
	records, responses := rcnt.records.Load()-before, int64(batches*h2RawStreams)
	t.Logf("%d responses in %d TLS records", responses, records)
	if records >= responses {
		t.Fatalf("%d responses came in %d TLS records: none shared a record", responses, records)
	}
}
