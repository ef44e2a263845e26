package edge

import (
	"testing"
	"time"

	"golang.org/x/net/http2"
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
	h := dialRawH2(t, srv, 1<<20, 1, 3, 5, 7) // the streams' windows stay open
	// A slow client, reading steadily: 1 KiB for the connection, less than a DATA write.
	for range 12 {
		time.Sleep(100 * time.Millisecond)
		h.grant(1<<10, 0)
	}
	select {
	case f := <-h.reset:
		t.Fatalf("stream %d was reset (%v) while the client kept opening the connection's window", f.StreamID, f.ErrCode)
	default:
	}
}

// TestHTTP2StreamStarvedByConnectionWindowIsReset: a client that leaves the streams'
// windows open but never opens the connection's, reading the connection, still has its
// streams reset after WriteByteTimeout, and the backends behind them see edge go away.
func TestHTTP2StreamStarvedByConnectionWindowIsReset(t *testing.T) {
	srv, gone := startEndless(t)
	h := dialRawH2(t, srv, 1<<20, 1, 3) // reads the connection; the SETTINGS ack is all it writes
	for range 2 {
		select {
		case f := <-h.reset:
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
