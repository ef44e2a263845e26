package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestPlainHeadMatchesReadResponse reads every response of forwardCases (and some more)
// with readPlainHead and with http.ReadResponse: a head readPlainHead takes must come out
// the same (status, protocol, headers, length, close) with the same body after it, and one
// it leaves must be left unread.
func TestPlainHeadMatchesReadResponse(t *testing.T) {
	resps := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: Close, x-a\r\nX-A: 1\r\n\r\nabc",
		"HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTrailer: X-Sum\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
		"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 2000 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 20x OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Ctl: a\x01b\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX\x80: v\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 3\r\n\r\nabc",
	}
	for _, c := range forwardCases {
		resps = append(resps, c.resp)
	}
	req, _ := http.NewRequest("GET", "http://x/", nil)
	for _, raw := range resps {
		if err := comparePlainHead(raw, req); err != nil {
			t.Errorf("%q: %v", raw[:min(len(raw), 60)], err)
		}
	}
}

// FuzzPlainHead holds readPlainHead to http.ReadResponse on any bytes: a head it takes
// must read the same as ReadResponse reads it, and one it leaves must be left unread.
func FuzzPlainHead(f *testing.F) {
	for _, c := range forwardCases {
		f.Add(c.resp)
	}
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabc")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n Folded: v\r\n\r\nabc")
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
	req, _ := http.NewRequest("GET", "http://x/", nil)
	f.Fuzz(func(t *testing.T, raw string) {
		if err := comparePlainHead(raw, req); err != nil {
			t.Errorf("%q: %v", raw, err)
		}
	})
}

// comparePlainHead reads raw with readPlainHead and with http.ReadResponse and says how
// they differ, if they do.
func comparePlainHead(raw string, req *http.Request) error {
	br := bufio.NewReaderSize(strings.NewReader(raw), 16<<10)
	got := readPlainHead(br, req)
	want, werr := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
	if got == nil {
		if rest, _ := io.ReadAll(br); string(rest) != raw {
			return fmt.Errorf("left, but %d bytes were consumed", len(raw)-len(rest))
		}
		return nil
	}
	if werr != nil {
		return fmt.Errorf("taken; ReadResponse fails: %w", werr)
	}
	if got.Status != want.Status || got.StatusCode != want.StatusCode || got.Proto != want.Proto ||
		got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor ||
		got.ContentLength != want.ContentLength || got.Close != want.Close ||
		got.TransferEncoding != nil || want.TransferEncoding != nil || got.Trailer != nil || want.Trailer != nil ||
		got.Request != req {
		return fmt.Errorf("\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		return fmt.Errorf("header\n got %q\nwant %q", got.Header, want.Header)
	}
	// (A body cut short is TestUpstreamAbortMidBody's.)
	wantBody := lengthBody
	if got.ContentLength == 0 {
		wantBody = http.NoBody
	}
	if got.Body != wantBody {
		return fmt.Errorf("Body %T, want %T", got.Body, wantBody)
	}
	body, _ := io.ReadAll(io.LimitReader(br, got.ContentLength))
	wbody, _ := io.ReadAll(want.Body)
	if string(body) != string(wbody) {
		return fmt.Errorf("body %q; want %q", body, wbody)
	}
	return nil
}

// BenchmarkReadResponseHead compares readPlainHead with http.ReadResponse on a typical
// upstream response head.
func BenchmarkReadResponseHead(b *testing.B) {
	raw := "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\nContent-Type: text/html; charset=utf-8\r\n" +
		"Content-Length: 5\r\nETag: W/\"5-x\"\r\nDate: Wed, 02 Dec 2026 09:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello"
	req, _ := http.NewRequest("GET", "http://x/", nil)
	sr := strings.NewReader(raw)
	br := bufio.NewReaderSize(sr, 16<<10)
	for _, bc := range []struct {
		name string
		read func() *http.Response
	}{
		{"plain", func() *http.Response { return readPlainHead(br, req) }},
		{"ReadResponse", func() *http.Response { res, _ := http.ReadResponse(br, req); return res }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sr.Reset(raw)
				br.Reset(sr)
				if res := bc.read(); res == nil || res.StatusCode != 200 {
					b.Fatal("not read")
				}
			}
		})
	}
}
