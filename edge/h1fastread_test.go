package edge

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
)

// fastHeadCases are request headers for the differential test: the first ones
// parseSimpleHead must take, the rest near misses it may leave to http.ReadRequest.
var fastHeadCases = []struct {
	head string
	fast bool // parseSimpleHead must take it
}{
	{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"GET / HTTP/1.1\r\nHost: site00500.bench.test:39501\r\nUser-Agent: h2load nghttp2/1.52.0\r\nAccept: */*\r\n\r\n", true},
	{"HEAD /a/b.c?x=1&y=2 HTTP/1.1\r\nhost:  a.test \t\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n", true},
	{"GET /a;b/c HTTP/1.1\r\nHOST: a\r\nconnection: close\r\n\r\n", true},
	{"GET /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\nCookie: a=1\r\ncookie: b=2\r\n\r\n", true},
	{"GET //x/../y HTTP/1.1\r\nHost: a\r\nx-1a-b: \r\nAccept-Encoding: gzip, br\r\n\r\n", true},
	{"GET /~u/$&+,:=@ HTTP/1.1\r\nHost: a\r\nX: \"q\" (c) {b} [i] <t> \\ | ^ ` #%\r\n\r\n", true},
	// Left to ReadRequest.
	{"POST / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false},
	{"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /%41 HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a?b;c HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a!b HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\nHost: a\n\n", false},
	{"GET / HTTP/1.1\r\nHost: a\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nX: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX_Y: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: \xe9\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nTrailer: X\r\n\r\n", false},
	{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"get / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", true}, // taken; simpleServable refuses it as servable does
	{"GET / HTTP/1.1\r\nHost: \r\n\r\n", true},
}

// TestParseSimpleHeadMatchesReadRequest: what parseSimpleHead takes, it reads as
// http.ReadRequest does (every field of the Request, the bytes consumed), for the cases
// above and random headers made from their pieces; and it takes the plain ones.
func TestParseSimpleHeadMatchesReadRequest(t *testing.T) {
	for _, tc := range fastHeadCases {
		if got := checkSimpleHead(t, []byte(tc.head)); tc.fast && !got {
			t.Errorf("parseSimpleHead left %q to ReadRequest", tc.head)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	taken := 0
	for i := 0; i < 20000; i++ {
		if checkSimpleHead(t, randomHead(rng)) {
			taken++
		}
	}
	if taken == 0 {
		t.Error("parseSimpleHead took none of the random headers")
	}
}

// FuzzParseSimpleHead is the differential test on any bytes.
func FuzzParseSimpleHead(f *testing.F) {
	for _, tc := range fastHeadCases {
		f.Add([]byte(tc.head))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkSimpleHead(t, raw) })
}

// checkSimpleHead compares parseSimpleHead and http.ReadRequest on the header at the
// start of raw; it reports whether parseSimpleHead took it.
func checkSimpleHead(t *testing.T, raw []byte) bool {
	t.Helper()
	end := headerEnd(raw)
	if end == 0 {
		return false
	}
	got := parseSimpleHead(raw[:end])
	if got == nil {
		return false
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	want, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("parseSimpleHead took %q, which ReadRequest refuses: %v", raw, err)
	}
	if consumed := len(raw) - br.Buffered(); consumed != end {
		t.Fatalf("%q: ReadRequest read %d bytes, parseSimpleHead %d", raw, consumed, end)
	}
	if got.Body != http.NoBody || want.Body != http.NoBody {
		t.Fatalf("%q: bodies %v and %v, want NoBody", raw, got.Body, want.Body)
	}
	got.Body, want.Body = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nparseSimpleHead %#v\nURL %#v\nReadRequest     %#v\nURL %#v", raw, got, got.URL, want, want.URL)
	}
	want.Body = http.NoBody
	if s, full := simpleServable(got), (&h1Conn{}).servable(want, raw); s != full {
		t.Fatalf("%q: simpleServable %v, servable %v", raw, s, full)
	}
	return true
}

// randomHead assembles a request header from pieces near parseSimpleHead's limits.
func randomHead(rng *rand.Rand) []byte {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	methods := []string{"GET", "HEAD", "GET", "POST", "get"}
	targets := []string{"/", "/a", "/a/b?c=d", "//x", "/a;b", "/a?;", "/%20", "/a?b=%", "/@:$", "/é", "/a b", "/?", "/a?", "/a?b?", "/.."}
	protos := []string{"HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.10", "http/1.1"}
	names := []string{"Host", "host", "HOST", "X-A", "x-a", "Connection", "Accept", "X_Y", "X Y", "X-", "-X", "1", "Content-Length", "Pragma", "Expect", "upgrade", ""}
	values := []string{"a", " a ", "\ta\t", "", "close", "keep-alive, close", "\x00", "a\x7fb", "\xff", "a:b", " ", "1", "a b", "[::1]:80", "a/b", "a\"b"}
	ends := []string{"\r\n", "\r\n", "\r\n", "\n", "\r"}
	var b bytes.Buffer
	b.WriteString(pick(methods) + " " + pick(targets) + " " + pick(protos) + pick(ends))
	for n := rng.IntN(5); n >= 0; n-- {
		b.WriteString(pick(names) + ":" + pick(values) + pick(ends))
	}
	b.WriteString(pick(ends))
	return b.Bytes()
}

// BenchmarkH1ReadHead compares http.ReadRequest ("nethttp") and parseSimpleHead ("fast")
// on the header h2load sends.
func BenchmarkH1ReadHead(b *testing.B) {
	raw := []byte(fastHeadCases[1].head)
	b.Run("nethttp", func(b *testing.B) {
		rd := bytes.NewReader(raw)
		br := bufio.NewReader(rd)
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(raw)
			br.Reset(rd)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if parseSimpleHead(raw[:headerEnd(raw)]) == nil {
				b.Fatal("not taken")
			}
		}
	})
}
