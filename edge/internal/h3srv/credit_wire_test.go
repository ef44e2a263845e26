package h3srv_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// creditLimit is the request streams the credit tests' listener allows at once.
const creditLimit = 4

// startCreditServer serves creditHandler with the server releasing stream credit
// (RequireStreamCreditRelease, as edge configures it) and a limit of creditLimit
// streams; *conns counts the connections.
func startCreditServer(t *testing.T, conns *atomic.Int32) *testServer {
	conf := serverConf()
	conf.MaxIncomingStreams = creditLimit
	return startServerConf(t, &h3srv.Server{
		MaxHeaderBytes: 2 << 10,
		ConnContext: func(ctx context.Context, _ *quic.Conn) context.Context {
			conns.Add(1)
			return ctx
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/panic":
				panic(http.ErrAbortHandler)
			case "/big":
				io.WriteString(w, strings.Repeat("b", 5000))
			default:
				io.WriteString(w, "ok")
			}
		}),
	}, conf)
}

// TestWireStreamCreditReturns: every way a request stream ends gives its credit back,
// so one connection serves five times its stream limit, as many requests at a time as
// the limit allows: a response held for the batch (its credit held for the next batch,
// or released by the timer when the client, out of credit, can start none), one too
// large to hold, a HEAD, a header section refused with 431. A credit lost would leave
// the client waiting for a stream until the guard.
func TestWireStreamCreditReturns(t *testing.T) {
	for _, kind := range []string{"/ok", "/big", "/head", "/431"} {
		t.Run(kind[1:], func(t *testing.T) {
			var conns atomic.Int32
			ts := startCreditServer(t, &conns)
			client := newH3Client(t)
			ctx := guardCtx(t)
			const n = 5 * creditLimit
			sem := make(chan struct{}, creditLimit)
			errs := make(chan error, n)
			for range n {
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					errs <- creditRequest(ctx, client, ts, kind)
				}()
			}
			for range n {
				if err := recv(t, errs, "an answer"); err != nil {
					t.Error(err)
				}
			}
			if c := conns.Load(); c != 1 {
				t.Errorf("%d connections, want the one", c)
			}
		})
	}
}

// TestWireStreamCreditAfterReset: a stream reset because its handler panicked gives its
// credit back (quic-go's client redials after a reset, so this one is raw).
func TestWireStreamCreditAfterReset(t *testing.T) {
	var conns atomic.Int32
	ts := startCreditServer(t, &conns)
	rc := dialReady(t, ts)
	for range 5 * creditLimit {
		str := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/panic")...), true)
		wantStreamReset(t, str, h3InternalError)
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections, want the one", c)
	}
}

// creditRequest makes one request of kind and checks its answer.
func creditRequest(ctx context.Context, client *http.Client, ts *testServer, kind string) error {
	method, want := "GET", http.StatusOK
	req, _ := http.NewRequestWithContext(ctx, method, ts.url(kind), nil)
	switch kind {
	case "/head":
		req.Method = "HEAD"
	case "/431":
		req.Header.Set("X-Big", strings.Repeat("h", 4<<10))
		want = http.StatusRequestHeaderFieldsTooLarge
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		return fmt.Errorf("%s: status %d, body %d bytes, %v; want %d", kind, resp.StatusCode, len(body), err, want)
	}
	return nil
}

// TestWireStreamCreditAtLimitNotHeld: a client that uses all its streams, whose
// responses end together, can open none to bring a next batch: the batch releases their
// credit at once, with the limit known (Server.MaxIncomingStreams) or not, instead of
// holding it for the timer (an hour here, so a hold fails the test at the guard).
func TestWireStreamCreditAtLimitNotHeld(t *testing.T) {
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("limit known %v", known), func(t *testing.T) {
			ts := startRoundServer(t, creditLimit, known)
			rc := dialReady(t, ts)
			for round := range 4 {
				creditRound(t, ts, rc, round, creditLimit)
			}
		})
	}
}

// TestWireStreamCreditBesideLongRequest: with the limit known, a client that keeps one
// long request open always has half its limit to open: rounds of that many requests whose
// responses end together never wait for the hold (an hour here). Without the limit the
// server would hold their credit, the long request keeping the connection busy.
func TestWireStreamCreditBesideLongRequest(t *testing.T) {
	ts := startRoundServer(t, creditLimit/2, true)
	rc := dialReady(t, ts)
	long := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/long")...), true)
	defer long.CancelRead(0)
	for round := range 6 {
		creditRound(t, ts, rc, round, creditLimit/2)
	}
}

// startRoundServer serves rounds of n requests that answer together (and /long, which
// answers when the client goes), holding stream credit for an hour unless the client is
// near its limit of creditLimit, which the server knows if known.
func startRoundServer(t *testing.T, n int, known bool) *testServer {
	var mu sync.Mutex
	running := 0
	gate := make(chan struct{})
	srv := &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/long" {
			<-r.Context().Done()
			return
		}
		mu.Lock()
		g := gate
		if running++; running%n == 0 { // the round's last: all answer together
			close(gate)
			gate = make(chan struct{})
		}
		mu.Unlock()
		select {
		case <-g:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "ok")
	})}
	if known {
		srv.MaxIncomingStreams = creditLimit
	}
	h3srv.SetCreditHold(srv, time.Hour)
	conf := serverConf()
	conf.MaxIncomingStreams = creditLimit
	return startServerConf(t, srv, conf)
}

// creditRound opens n requests at once and reads their answers.
func creditRound(t *testing.T, ts *testServer, rc *rawConn, round, n int) {
	t.Helper()
	strs := make([]*quic.Stream, n)
	for i := range strs {
		strs[i] = rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/")...), true)
	}
	for _, str := range strs {
		resp, err := readResponse(str)
		if err != nil || string(resp.body) != "ok" {
			t.Fatalf("round %d: response %v, %v; want ok", round, resp, err)
		}
	}
}
