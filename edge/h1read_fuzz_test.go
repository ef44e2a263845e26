package edge

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// FuzzH1Servable: the loop's own reading of a request header (headerEnd, hostLines) never
// lets it serve what net/http's server would refuse: a header it serves ends where
// textproto's reading ends, and has exactly one Host field, valid.
func FuzzH1Servable(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHOST:a\r\n\r\nGET / HTTP/1.1\r\n",
	} {
		f.Add([]byte(s))
	}
	c := &h1Conn{}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := headerEnd(raw)
		if end == 0 {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || !c.servable(req, raw) {
			return
		}
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw[:end])))
		if _, err := tp.ReadLine(); err != nil {
			t.Fatalf("served, but the request line does not read: %v", err)
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			t.Fatalf("served, but the header does not read within headerEnd (%d): %v", end, err)
		}
		if len(h["Host"]) != 1 {
			t.Fatalf("served with %d Host fields", len(h["Host"]))
		}
	})
}

// FuzzH1LoopMatchesNetHTTP: any bytes sent on a connection, followed by a request that
// closes it, come back from edge's loop as from net/http's server (Date aside).
func FuzzH1LoopMatchesNetHTTP(f *testing.F) {
	for _, pieces := range diffCases() {
		f.Add([]byte(strings.Join(pieces, "")))
	}
	goAddr, edgeAddr := diffServersTimed(f, http.HandlerFunc(diffHandler), time.Second, time.Second)
	f.Fuzz(func(t *testing.T, raw []byte) {
		pieces := []string{string(raw) + closing}
		want := exchangeFor(t, goAddr, pieces, 3*time.Second)
		if got := exchangeFor(t, edgeAddr, pieces, 3*time.Second); got != want {
			t.Errorf("edge's loop answered\n%q\nnet/http\n%q", got, want)
		}
	})
}
