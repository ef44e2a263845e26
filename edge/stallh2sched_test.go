package edge

import (
	"bytes"
	"crypto/tls"
	"io"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2StreamWaitingItsTurnIsNotReset: a stream whose DATA waits for the
// connection's window while the client keeps opening it, the credit going to the other
// streams first (round robin: four streams, 1 KiB of credit every 100 ms, each stream's
// turn every 400 ms, more than WriteByteTimeout; RFC 9218 serves a non-incremental
// stream to its end first), is not starved by the client: it is not reset (here for
// 1.2 s, four times WriteByteTimeout).
func TestHTTP2StreamWaitingItsTurnIsNotReset(t *testing.T) {
	srv, gone := startEndless(t)
	defer func() { // the backend's handlers report their end: four of them
		go func() {
			for range 4 {
				select {
				case <-gone:
				case <-time.After(30 * time.Second):
					return
				}
			}
		}()
	}()
	c, err := tls.Dial("tcp", srv.Addr().String(), &tls.Config{ServerName: "endless.test", RootCAs: ca(t).Pool(), NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}) // the streams' windows stay open
	for _, id := range []uint32{1, 3, 5, 7} {
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "endless.test"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	}
	reset := make(chan *http2.RSTStreamFrame, 4)
	var wmu sync.Mutex
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					wmu.Lock()
					fr.WriteSettingsAck()
					wmu.Unlock()
				}
			case *http2.RSTStreamFrame:
				reset <- f
			}
		}
	}()
	for range 12 { // a slow client, reading steadily: 1 KiB for the connection, less than a DATA write
		time.Sleep(100 * time.Millisecond)
		wmu.Lock()
		fr.WriteWindowUpdate(0, 1<<10)
		wmu.Unlock()
	}
	select {
	case f := <-reset:
		t.Fatalf("stream %d was reset (%v) while the client kept opening the connection's window", f.StreamID, f.ErrCode)
	default:
	}
}

// TestHTTP2StreamStarvedByConnectionWindowIsReset: a client that leaves the streams'
// windows open but never opens the connection's, reading the connection, still has its
// streams reset after WriteByteTimeout, and the backends behind them see edge go away.
func TestHTTP2StreamStarvedByConnectionWindowIsReset(t *testing.T) {
	srv, gone := startEndless(t)
	c, err := tls.Dial("tcp", srv.Addr().String(), &tls.Config{ServerName: "endless.test", RootCAs: ca(t).Pool(), NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	for _, id := range []uint32{1, 3} {
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "endless.test"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	}
	reset := make(chan *http2.RSTStreamFrame, 2)
	go func() { // reads the connection; the SETTINGS ack is all it writes
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.RSTStreamFrame:
				reset <- f
			}
		}
	}()
	for range 2 {
		select {
		case f := <-reset:
			if f.ErrCode != http2.ErrCodeInternal {
				t.Errorf("stream %d reset with %v, want INTERNAL_ERROR", f.StreamID, f.ErrCode)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a stream starved of the connection's window was not reset")
		}
		select {
		case <-gone:
		case <-time.After(20 * time.Second):
			t.Fatal("the upstream request still runs for a stream starved of the connection's window")
		}
	}
}
