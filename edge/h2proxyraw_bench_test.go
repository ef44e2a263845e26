//go:build linux

package edge

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"golang.org/x/net/http2/hpack"
)

// h2RawStreams is how many streams an h2RawClient keeps in flight, as h2load -m10 does
// in tests/bench/peers.sh's h2 column.
const h2RawStreams = 10

// BenchmarkH2ProxyRaw measures edge's HTTP/2 server proxying GETs to a keep-alive
// upstream, as tests/bench/peers.sh's h2 column does (h2load's request: its header fields
// indexed in the connection's HPACK table after the first; a 29-byte body), with a client
// and an upstream that allocate nothing once running, so allocs/op is edge's own (and
// cpu-µs/op edge's plus both ends' TLS and loopback system calls). Each client
// connection keeps h2RawStreams requests in flight.
func BenchmarkH2ProxyRaw(b *testing.B) {
	addr := startH1ProxyOn(b, rawUpstream(b), "")
	pool := ca(b).Pool()
	cpu0 := edgetest.ProcessCPU()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := dialH2Raw(addr, "h1.test", pool)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for {
			n := 0
			for n < h2RawStreams && pb.Next() {
				n++
			}
			if n == 0 {
				return
			}
			if err := c.roundTrips(n); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// TestH2RawClient checks BenchmarkH2ProxyRaw's client against the proxy: every stream
// of a few batches gets its 200 and its whole body.
func TestH2RawClient(t *testing.T) {
	addr := startH1ProxyOn(t, rawUpstream(t), "")
	c, err := dialH2Raw(addr, "h1.test", ca(t).Pool())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []int{1, h2RawStreams, 3} {
		if err := c.roundTrips(n); err != nil {
			t.Fatalf("%d streams: %v", n, err)
		}
	}
}

// h2RawClient is a minimal HTTP/2 client over TLS that allocates nothing per request: it
// sends one prepared HEADERS block (GET, END_STREAM) per stream and reads frames with a
// fixed buffer, checking only that each stream's response starts with :status 200 (HPACK
// static index 8) and that its DATA frames carry rawBody's length.
type h2RawClient struct {
	c      *tls.Conn
	block  []byte // the HEADERS block once the fields are in the server's table
	first  []byte // the first request's block, which adds them
	out    []byte // frames to send
	buf    []byte // frames read: buf[start:have] not yet returned
	start  int
	have   int
	nextID uint32
	body   [h2RawStreams]int // body bytes per stream of the batch (id - base) / 2
	status [h2RawStreams]bool
}

// dialH2Raw connects to addr for host and starts an h2RawClient on the connection
// (newH2Raw).
func dialH2Raw(addr, host string, pool *x509.CertPool) (*h2RawClient, error) {
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: host, NextProtos: []string{"h2"}})
	if err != nil {
		return nil, err
	}
	return newH2Raw(c, host)
}

// newH2Raw checks that c negotiated h2 and sends the client preface with SETTINGS and a
// connection WINDOW_UPDATE large enough for any benchmark (no more updates are sent). It
// closes c on error.
func newH2Raw(c *tls.Conn, host string) (*h2RawClient, error) {
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		c.Close()
		return nil, fmt.Errorf("ALPN %q, want h2", p)
	}
	rc := &h2RawClient{c: c, nextID: 1, buf: make([]byte, 64<<10), out: make([]byte, 0, 4<<10)}
	rc.first, rc.block = h2RawBlocks(host)
	pre := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	pre = appendFrameHeader(pre, 0, 4, 0, 0) // SETTINGS, empty
	pre = appendFrameHeader(pre, 4, 8, 0, 0) // WINDOW_UPDATE on the connection
	pre = binary.BigEndian.AppendUint32(pre, 1<<31-1-65535)
	if _, err := c.Write(pre); err != nil {
		c.Close()
		return nil, err
	}
	return rc, nil
}

// h2RawBlocks returns h2load's request fields for host encoded twice by one HPACK
// encoder: first adding them to the dynamic table, then as indexes into it.
func h2RawBlocks(host string) (first, again []byte) {
	var w bytes.Buffer
	enc := hpack.NewEncoder(&w)
	fields := []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":path", Value: "/"},
		{Name: ":scheme", Value: "https"}, {Name: ":authority", Value: host},
		{Name: "accept", Value: "*/*"}, {Name: "accept-encoding", Value: "gzip, deflate"},
		{Name: "user-agent", Value: "h2load nghttp2/1.52.0"}}
	for i := range 2 {
		for _, f := range fields {
			enc.WriteField(f)
		}
		if i == 0 {
			first = bytes.Clone(w.Bytes())
			w.Reset()
		}
	}
	return first, bytes.Clone(w.Bytes())
}

// appendFrameHeader appends an HTTP/2 frame header.
func appendFrameHeader(p []byte, length int, typ, flags byte, stream uint32) []byte {
	p = append(p, byte(length>>16), byte(length>>8), byte(length), typ, flags)
	return binary.BigEndian.AppendUint32(p, stream)
}

// Close closes the connection.
func (rc *h2RawClient) Close() error { return rc.c.Close() }

// roundTrips sends n (at most h2RawStreams) GETs in one write and reads until each has
// ended.
func (rc *h2RawClient) roundTrips(n int) error {
	base := rc.nextID
	rc.out = rc.out[:0]
	for i := range n {
		block := rc.block
		if rc.first != nil {
			block, rc.first = rc.first, nil
		}
		rc.out = appendFrameHeader(rc.out, len(block), 1, 0x5, rc.nextID) // HEADERS, END_STREAM|END_HEADERS
		rc.out = append(rc.out, block...)
		rc.nextID += 2
		rc.body[i], rc.status[i] = 0, false
	}
	if _, err := rc.c.Write(rc.out); err != nil {
		return err
	}
	for open := n; open > 0; {
		f, err := rc.readFrame()
		if err != nil {
			return err
		}
		ended, err := rc.handle(f, base, n)
		if err != nil {
			return err
		}
		if ended {
			open--
		}
	}
	return nil
}

// h2RawFrame is a frame in h2RawClient's buffer.
type h2RawFrame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

// readFrame returns the next frame, its payload valid until the next call.
func (rc *h2RawClient) readFrame() (h2RawFrame, error) {
	for {
		if p := rc.buf[rc.start:rc.have]; len(p) >= 9 {
			length := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
			if 9+length > len(rc.buf) {
				return h2RawFrame{}, errors.New("frame larger than the buffer")
			}
			if len(p) >= 9+length {
				rc.start += 9 + length
				return h2RawFrame{typ: p[3], flags: p[4], stream: binary.BigEndian.Uint32(p[5:9]) & (1<<31 - 1),
					payload: p[9 : 9+length]}, nil
			}
		}
		if rc.start > 0 { // room for the rest of the frame: move what is left to the front
			rc.have = copy(rc.buf, rc.buf[rc.start:rc.have])
			rc.start = 0
		}
		m, err := rc.c.Read(rc.buf[rc.have:])
		rc.have += m
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h2RawFrame{}, err
		}
	}
}

// handle checks frame f of a batch of n streams from base and reports whether it ended
// one of them; it answers SETTINGS and PING.
func (rc *h2RawClient) handle(f h2RawFrame, base uint32, n int) (bool, error) {
	const endStream = 0x1
	switch f.typ {
	case 4: // SETTINGS
		if f.flags&1 == 0 {
			_, err := rc.c.Write(appendFrameHeader(rc.out[:0], 0, 4, 1, 0))
			return false, err
		}
		return false, nil
	case 6: // PING
		if f.flags&1 == 0 {
			out := append(appendFrameHeader(rc.out[:0], 8, 6, 1, 0), f.payload...)
			_, err := rc.c.Write(out)
			return false, err
		}
		return false, nil
	case 8: // WINDOW_UPDATE
		return false, nil
	case 0, 1: // DATA, HEADERS
	default:
		return false, fmt.Errorf("unexpected frame type %d on stream %d", f.typ, f.stream)
	}
	i := int(f.stream-base) / 2
	if f.stream < base || i >= n {
		return false, fmt.Errorf("frame for stream %d outside the batch", f.stream)
	}
	if f.typ == 1 {
		if f.flags&0x4 == 0 || len(f.payload) == 0 || f.payload[0] != 0x88 {
			return false, fmt.Errorf("stream %d: HEADERS not a whole :status 200 block", f.stream)
		}
		rc.status[i] = true
	} else {
		rc.body[i] += len(f.payload)
	}
	if f.flags&endStream == 0 {
		return false, nil
	}
	if !rc.status[i] || rc.body[i] != len(rawBody) {
		return false, fmt.Errorf("stream %d ended: status 200 %v, %d body bytes, want %d", f.stream, rc.status[i], rc.body[i], len(rawBody))
	}
	return true, nil
}
