package edge

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// diffHandler behaves in every way the differential test compares, chosen by path.
func diffHandler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	switch r.URL.Path {
	case "/small":
		io.WriteString(w, "hello")
	case "/big":
		w.Write([]byte(strings.Repeat("0123456789", 500)))
	case "/flush":
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		io.WriteString(w, "b")
	case "/trailer":
		h.Set("Trailer", "X-T, X-Bad-Trailer, Content-Length")
		io.WriteString(w, "body")
		h.Set("X-T", "t")
	case "/trailerprefix":
		io.WriteString(w, "body")
		h.Set(http.TrailerPrefix+"X-U", "u")
	case "/204":
		h.Set("Content-Length", "5")
		w.WriteHeader(http.StatusNoContent)
		io.WriteString(w, "nope!")
	case "/304":
		h.Set("Content-Type", "text/plain")
		h.Set("Etag", `"x"`)
		w.WriteHeader(http.StatusNotModified)
	case "/103":
		h.Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "after hints")
	case "/sniff":
		io.WriteString(w, "<!DOCTYPE html><html><body>x</body></html>")
	case "/encoded":
		h.Set("Content-Encoding", "gzip")
		io.WriteString(w, "<html>not really gzip</html>")
	case "/cl-short":
		h.Set("Content-Length", "10")
		io.WriteString(w, "short")
	case "/cl-long":
		h.Set("Content-Length", "3")
		_, err := io.WriteString(w, "toolong")
		h.Set("X-Err", fmt.Sprint(err)) // too late to be sent
	case "/cl-bad":
		h.Set("Content-Length", "x1")
		io.WriteString(w, "bad length")
	case "/te-identity":
		h.Set("Transfer-Encoding", "identity")
		io.WriteString(w, "until close")
	case "/te-chunked":
		h.Set("Transfer-Encoding", "chunked")
		h.Set("Content-Length", "4")
		io.WriteString(w, "both")
	case "/close":
		h.Set("Connection", "close")
		io.WriteString(w, "closing")
	case "/late-header":
		h.Set("X-Early", "1")
		w.WriteHeader(http.StatusAccepted)
		h.Set("X-Late", "1")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "late")
	case "/handoff", "/handoff-trailer": // the map handed off (edge's loop), copied (net/http)
		h.Set("X-Early", "1")
		if r.URL.Path == "/handoff-trailer" {
			h.Set("Trailer", "X-T")
		}
		if ho, ok := w.(interface{ HandOffHeader() }); ok {
			ho.HandOffHeader()
		}
		w.WriteHeader(http.StatusAccepted)
		w.Header().Set("X-Late", "1")
		io.WriteString(w, "handed off")
		w.Header().Set("X-T", "t")
	case "/status-999":
		w.WriteHeader(999)
	case "/empty":
	case "/panic":
		io.WriteString(w, "partial")
		panic("boom")
	case "/abort":
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/echo":
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %q %v", r.Method, b, err)
	case "/read10":
		b := make([]byte, 10)
		n, err := io.ReadFull(r.Body, b)
		fmt.Fprintf(w, "%q %v", b[:n], err)
	case "/closebody":
		b := make([]byte, 10)
		n, _ := io.ReadFull(r.Body, b)
		fmt.Fprintf(w, "%q %v", b[:n], r.Body.Close())
		_, err := r.Body.Read(b)
		fmt.Fprint(w, err)
	case "/duplex":
		fmt.Fprint(w, http.NewResponseController(w).EnableFullDuplex())
		w.(http.Flusher).Flush()
		b, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, " %d %v", len(b), err)
	case "/info":
		fmt.Fprintf(w, "%s %s %s host=%s close=%v tls=%v remote=%v len=%d te=%v",
			r.Method, r.RequestURI, r.Proto, r.Host, r.Close, r.TLS != nil, r.RemoteAddr != "", r.ContentLength, r.TransferEncoding)
	case "/deadline":
		rc := http.NewResponseController(w)
		fmt.Fprint(w, rc.SetWriteDeadline(time.Now().Add(time.Minute)), rc.SetReadDeadline(time.Time{}))
	case "/readfrom":
		io.Copy(w, strings.NewReader(strings.Repeat("r", 3000)))
	default:
		http.NotFound(w, r)
	}
}

// diffServers serves h on two TLS listeners, with net/http's server and with edge's loop,
// configured alike, and returns their addresses.
func diffServers(t testing.TB, h http.Handler) (goAddr, edgeAddr string) {
	return diffServersTimed(t, h, 10*time.Second, time.Minute)
}

// diffServersTimed is diffServers with ReadHeaderTimeout rht and IdleTimeout idle.
func diffServersTimed(t testing.TB, h http.Handler, rht, idle time.Duration) (goAddr, edgeAddr string) {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"h2", "http/1.1"}}
	newSrv := func() *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: rht, IdleTimeout: idle,
			MaxHeaderBytes: 64 << 10, ErrorLog: log.New(io.Discard, "", 0)}
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return tls.NewListener(ln, cfg)
	}
	goSrv, goLn := newSrv(), listen()
	go goSrv.Serve(goLn)
	edgeSrv, edgeLn := newSrv(), listen()
	loop := newH1Server(edgeSrv, edgeLn, context.Background())
	go edgeSrv.Serve(loop.queue)
	go loop.serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		goSrv.Shutdown(ctx)
		loop.shutdown(ctx)
		edgeSrv.Shutdown(ctx)
	})
	return goLn.Addr().String(), edgeLn.Addr().String()
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r$`)

// exchange sends pieces on a new HTTP/1.1 connection to addr, one write each, and returns
// all that comes back until the server closes, Date headers blanked.
func exchange(t testing.TB, addr string, pieces []string) string {
	return exchangeFor(t, addr, pieces, 0)
}

// exchangeFor is exchange; with wait > 0, a server still silent after wait (a request left
// incomplete) ends the exchange, "<timeout>" appended to what came.
func exchangeFor(t testing.TB, addr string, pieces []string, wait time.Duration) string {
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmp.Or(wait, 20*time.Second)))
	go func() {
		for _, p := range pieces {
			if _, err := io.WriteString(c, p); err != nil {
				return
			}
		}
	}()
	out, err := io.ReadAll(c)
	var ne net.Error
	if wait > 0 && errors.As(err, &ne) && ne.Timeout() {
		out, err = append(out, "<timeout>"...), nil
	}
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("reading: %v (got %q)", err, out)
	}
	return dateLine.ReplaceAllString(string(out), "Date: -\r")
}

// rawReq is a keep-alive request for path; last closes the connection.
func rawReq(method, path string, last bool, extra ...string) string {
	s := method + " " + path + " HTTP/1.1\r\nHost: h1.test\r\n"
	for _, e := range extra {
		s += e + "\r\n"
	}
	if last {
		s += "Connection: close\r\n"
	}
	return s + "\r\n"
}

const closing = "GET /small HTTP/1.1\r\nHost: h1.test\r\nConnection: close\r\n\r\n"

// diffCases are the request sequences the differential test sends, each on a connection.
func diffCases() map[string][]string {
	cases := map[string][]string{}
	for _, p := range []string{"/small", "/big", "/flush", "/trailer", "/trailerprefix", "/204", "/304", "/103",
		"/sniff", "/encoded", "/cl-short", "/cl-long", "/cl-bad", "/te-identity", "/te-chunked", "/close",
		"/late-header", "/handoff", "/handoff-trailer", "/status-999", "/empty", "/panic", "/abort", "/info", "/deadline", "/readfrom", "/missing"} {
		cases["GET "+p] = []string{rawReq("GET", p, false) + closing}
		cases["HEAD "+p] = []string{rawReq("HEAD", p, false), closing}
	}
	cases["pipelined"] = []string{rawReq("GET", "/small", false) + rawReq("GET", "/big", false) + rawReq("HEAD", "/flush", false) + rawReq("GET", "/info", true)}
	cases["pipelined hand-offs"] = []string{rawReq("GET", "/handoff-trailer", false) + rawReq("GET", "/handoff", false) + rawReq("HEAD", "/handoff", false) + rawReq("GET", "/small", false) + rawReq("GET", "/info", true)}
	cases["byte by byte"] = strings.Split(rawReq("GET", "/info", false)+closing, "")
	body := "POST /echo HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 5\r\n\r\nhello"
	cases["POST fixed"] = []string{body + closing}
	cases["POST chunked"] = []string{"POST /echo HTTP/1.1\r\nHost: h1.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + closing}
	cases["POST unread"] = []string{"POST /small HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 5\r\n\r\nhello" + closing}
	post := func(path string, n int, extra ...string) []string {
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: h1.test\r\nContent-Length: %d\r\n", path, n)
		for _, e := range extra {
			head += e + "\r\n"
		}
		body := strings.Repeat("p", n)
		var pieces []string
		for len(body) > 64<<10 {
			pieces, body = append(pieces, body[:64<<10]), body[64<<10:]
		}
		return append(append([]string{head + "\r\n"}, pieces...), body+closing)
	}
	for _, n := range []int{100, 200 << 10, 256 << 10, 300 << 10} {
		for _, p := range []string{"/small", "/read10", "/closebody", "/echo", "/duplex"} {
			cases[fmt.Sprintf("POST %s %d", p, n)] = post(p, n)
		}
	}
	cases["POST close"] = post("/echo", 100, "Connection: close")
	cases["POST close unread"] = post("/small", 300<<10, "Connection: close")
	cases["PUT"] = post("/info", 10)
	cases["POST then CRLF"] = []string{"POST /info HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 0\r\n\r\n\r\n" + closing}
	cases["100-continue"] = []string{"POST /echo HTTP/1.1\r\nHost: h1.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", "hello", closing}
	cases["bad expect"] = []string{rawReq("GET", "/small", false, "Expect: something") + closing}
	cases["TE and CL"] = []string{"POST /echo HTTP/1.1\r\nHost: h1.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + closing}
	cases["header 5 KiB"] = []string{rawReq("GET", "/info", false, "X-Big: "+strings.Repeat("b", 5<<10)) + closing}
	cases["header 70 KiB"] = []string{rawReq("GET", "/info", false, "X-Big: "+strings.Repeat("b", 70<<10)) + closing}
	cases["no Host"] = []string{"GET /info HTTP/1.1\r\n\r\n" + closing}
	cases["two Hosts"] = []string{"GET /info HTTP/1.1\r\nHost: h1.test\r\nhost: other\r\n\r\n" + closing}
	cases["bad Host"] = []string{"GET /info HTTP/1.1\r\nHost: a b\r\n\r\n" + closing}
	cases["lower-case host"] = []string{"GET /info HTTP/1.1\r\nhost: h1.test\r\n\r\n" + closing}
	cases["bad header name"] = []string{rawReq("GET", "/info", false, "Bad Name: x") + closing}
	cases["bad header value"] = []string{rawReq("GET", "/info", false, "X-Ctl: a\x01b") + closing}
	cases["folded header"] = []string{rawReq("GET", "/info", false, "X-Fold: a", " b") + closing}
	cases["HTTP/1.0"] = []string{"GET /info HTTP/1.0\r\nHost: h1.test\r\n\r\n"}
	cases["HTTP/1.0 keep-alive"] = []string{"GET /small HTTP/1.0\r\nHost: h1.test\r\nConnection: keep-alive\r\n\r\n" + closing}
	cases["HTTP/2.0 line"] = []string{"GET /info HTTP/2.0\r\nHost: h1.test\r\n\r\n"}
	cases["absolute URI"] = []string{"GET https://h1.test/info HTTP/1.1\r\nHost: h1.test\r\n\r\n" + closing}
	cases["OPTIONS *"] = []string{"OPTIONS * HTTP/1.1\r\nHost: h1.test\r\n\r\n" + closing}
	cases["CONNECT"] = []string{"CONNECT h1.test:443 HTTP/1.1\r\nHost: h1.test:443\r\n\r\n" + closing}
	cases["garbage"] = []string{"HELLO\r\n\r\n"}
	cases["LF only"] = []string{"GET /info HTTP/1.1\nHost: h1.test\n\n" + closing}
	cases["upgrade"] = []string{rawReq("GET", "/info", false, "Connection: Upgrade", "Upgrade: websocket") + closing}
	cases["client close"] = []string{rawReq("GET", "/info", false, "Connection: close")}
	cases["close token"] = []string{rawReq("GET", "/info", false, "Connection: keep-alive, close")}
	cases["half request"] = []string{"GET /info HTTP/1.1\r\nHost: h1"}
	return cases
}

// TestH1LoopMatchesNetHTTP: edge's HTTP/1.1 loop answers every request sequence of
// diffCases with the bytes net/http's server answers (Date aside), the handler being the
// same: requests the loop serves, and those it hands to net/http.
func TestH1LoopMatchesNetHTTP(t *testing.T) {
	goAddr, edgeAddr := diffServers(t, http.HandlerFunc(diffHandler))
	for name, pieces := range diffCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "half request" {
				return // waits for ReadHeaderTimeout: TestH1LoopTimeouts
			}
			want := exchange(t, goAddr, pieces)
			got := exchange(t, edgeAddr, pieces)
			if got != want {
				t.Errorf("edge's loop answered\n%q\nnet/http\n%q", got, want)
			}
		})
	}
}

// TestH1LoopServesPlainRequests: the loop serves GET and HEAD requests itself, whatever
// the handler does, and hands to net/http a connection whose request it leaves to it.
func TestH1LoopServesPlainRequests(t *testing.T) {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"h2", "http/1.1"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(diffHandler), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	loop := newH1Server(hs, tls.NewListener(ln, cfg), context.Background())
	go hs.Serve(loop.queue)
	go loop.serve()
	t.Cleanup(func() { loop.shutdown(context.Background()); hs.Close() })
	addr := ln.Addr().String()
	cases := diffCases()
	for _, name := range []string{"GET /small", "HEAD /big", "GET /trailer", "GET /103", "pipelined", "byte by byte",
		"GET /readfrom", "client close", "lower-case host", "POST fixed", "POST /read10 100"} {
		exchange(t, addr, cases[name])
	}
	if n := loop.handed.Load(); n != 0 {
		t.Errorf("%d connections handed to net/http; want 0", n)
	}
	for _, name := range []string{"POST chunked", "100-continue", "header 5 KiB", "HTTP/1.0", "upgrade", "two Hosts"} {
		before := loop.handed.Load()
		exchange(t, addr, cases[name])
		if loop.handed.Load() != before+1 {
			t.Errorf("%s: not handed to net/http", name)
		}
	}
}

// TestH1LoopHandOffAfterBackgroundRead: a handler running past bgReadAfter lets the loop's
// background read take the first byte of what the client sends next. When the next
// request is one the loop hands to net/http, that byte goes with the replayed bytes, in
// its place: the chunked body and the request after it arrive whole and in order. The
// client sends the body while /slow still runs (the sleep only makes the background read
// likely to be waiting by then; the answers must be the same whatever the timing).
func TestH1LoopHandOffAfterBackgroundRead(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release // until the client has sent what follows
		}
		diffHandler(w, r)
	})
	goAddr, edgeAddr := diffServers(t, h)
	send := func(addr string) string {
		return exchangeWith(t, addr, func(c io.Writer) error {
			head := rawReq("GET", "/slow", false) + rawReq("POST", "/echo", false, "Transfer-Encoding: chunked")
			if _, err := io.WriteString(c, head); err != nil {
				return err
			}
			time.Sleep(3 * bgReadAfter) // /slow has run past bgReadAfter
			_, err := io.WriteString(c, "5\r\nhello\r\n0\r\n\r\n"+closing)
			release <- struct{}{}
			return err
		})
	}
	want, got := send(goAddr), send(edgeAddr)
	if got != want {
		t.Errorf("edge's loop answered\n%q\nnet/http\n%q", got, want)
	}
	if !strings.Contains(got, `POST "hello" <nil>`) {
		t.Errorf("the chunked body did not arrive whole: %q", got)
	}
}

// exchangeWith is exchange with write writing the requests.
func exchangeWith(t testing.TB, addr string, write func(io.Writer) error) string {
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go write(c)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("reading: %v (got %q)", err, out)
	}
	return dateLine.ReplaceAllString(string(out), "Date: -\r")
}
