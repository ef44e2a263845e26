package edge

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// headerOutputs returns what writeHeader and http.Header.WriteSubset write for h.
func headerOutputs(h http.Header, exclude map[string]bool, keys []string) (got, want string, _ []string) {
	var a, b bytes.Buffer
	bw := bufio.NewWriterSize(&a, 16)
	keys = writeHeader(bw, h, exclude, keys)
	bw.Flush()
	h.WriteSubset(&b, exclude)
	return a.String(), b.String(), keys
}

// headerFromText makes a header from text: lines "key\x00value", a key may repeat.
func headerFromText(text string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(text, "\x01") {
		k, v, _ := strings.Cut(line, "\x00")
		h[k] = append(h[k], v)
	}
	return h
}

var headerSeeds = []string{
	"Content-Type\x00text/plain\x01Content-Length\x0015\x01Date\x00Thu, 03 Dec 2026 10:00:00 GMT",
	"X-A\x00 lead\x01X-A\x00trail \x01X-A\x00\tboth\t\x01X-B\x00a\r\nX-Injected: 1\x01X-C\x00\r\n",
	"bad key\x00v\x01Bad:Key\x00v\x01\x00empty key\x01X-Ok\x00\x01X-Ok\x00 \x01lower\x00v",
	"Set-Cookie\x00a=1\x01Set-Cookie\x00b=2\x01Transfer-Encoding\x00chunked\x01Trailer:X\x00t",
	"X-Utf8\x00h\u00e9llo \u00a0\x01X-Ctl\x00a\x00b\x01Z\x00z\x01A\x00a\x01a\x00lower a",
}

// TestWriteHeaderMatchesWriteSubset: writeHeader's output is byte for byte
// http.Header.WriteSubset's, with and without excluded keys, reusing its scratch space.
func TestWriteHeaderMatchesWriteSubset(t *testing.T) {
	var keys []string
	for _, seed := range headerSeeds {
		for _, exclude := range []map[string]bool{nil, excludedNoBody, {"X-A": true, "Set-Cookie": true, "Date": false}} {
			var got, want string
			got, want, keys = headerOutputs(headerFromText(seed), exclude, keys)
			if got != want {
				t.Errorf("header %q, exclude %v:\n got %q\nwant %q", seed, exclude, got, want)
			}
		}
	}
	if got, want, _ := headerOutputs(http.Header{}, nil, nil); got != "" || want != "" {
		t.Errorf("empty header: %q, %q", got, want)
	}
}

// FuzzWriteHeader: writeHeader and http.Header.WriteSubset agree on any header.
func FuzzWriteHeader(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s, "X-A")
	}
	f.Fuzz(func(t *testing.T, text, excluded string) {
		exclude := map[string]bool{excluded: true, "Content-Length": true}
		got, want, _ := headerOutputs(headerFromText(text), exclude, nil)
		if got != want {
			t.Fatalf("header %q:\n got %q\nwant %q", text, got, want)
		}
	})
}

// BenchmarkWriteHeader compares writeHeader with http.Header.WriteSubset on a proxied
// response's header.
func BenchmarkWriteHeader(b *testing.B) {
	h := headerFromText("Content-Type\x00text/plain; charset=utf-8\x01Content-Length\x0015\x01" +
		"Date\x00Thu, 03 Dec 2026 10:00:00 GMT\x01Cache-Control\x00no-cache\x01Etag\x00\"abc\"\x01" +
		"Alt-Svc\x00h3=\":443\"; ma=86400\x01Vary\x00Accept-Encoding")
	bw := bufio.NewWriterSize(nil, 4096)
	b.Run("writeHeader", func(b *testing.B) {
		var keys []string
		b.ReportAllocs()
		for b.Loop() {
			bw.Reset(io.Discard)
			keys = writeHeader(bw, h, excludedNoBody, keys)
			bw.Flush()
		}
	})
	b.Run("WriteSubset", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bw.Reset(io.Discard)
			h.WriteSubset(bw, excludedNoBody)
			bw.Flush()
		}
	})
}

// TestWriteStatusLine: every status code's line is net/http's ("HTTP/1.1 %03d %s\r\n",
// "status code N" for a code without a text), and a known one allocates nothing.
func TestWriteStatusLine(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriterSize(&buf, 64)
	for code := 100; code <= 999; code++ {
		buf.Reset()
		writeStatusLine(bw, code)
		bw.Flush()
		text := http.StatusText(code)
		if text == "" {
			text = fmt.Sprintf("status code %d", code)
		}
		if want := fmt.Sprintf("HTTP/1.1 %03d %s\r\n", code, text); buf.String() != want {
			t.Fatalf("writeStatusLine(%d) = %q; want %q", code, buf.String(), want)
		}
	}
	bw.Reset(io.Discard)
	if n := testing.AllocsPerRun(100, func() { writeStatusLine(bw, http.StatusOK) }); n != 0 {
		t.Errorf("writeStatusLine(200): %v allocations; want 0", n)
	}
}
