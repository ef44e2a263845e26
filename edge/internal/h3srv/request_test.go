package h3srv

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/quic-go/qpack"
)

// TestRequestURLAsParseRequestURI: the fast path for simple paths gives the URL that
// url.ParseRequestURI gives.
func TestRequestURLAsParseRequestURI(t *testing.T) {
	for _, p := range []string{"/", "/a/b", "/a?b=c", "/a?", "/?x=1&y=2", "//double//slash", "/a/../b",
		"/a%20b", "/a#frag", "/x?q=%41", "/é", "/a;b?c;d", "/a?b?c", "/a(b)", "/wiki/Foo_(bar)!*'[x]", "*"} {
		ps := &pseudo{method: "GET", path: p}
		if p == "*" {
			ps.method = http.MethodOptions
		}
		var u url.URL
		got, err := requestURL(ps, &u)
		want, werr := url.ParseRequestURI(p)
		if (err != nil) != (werr != nil) {
			t.Errorf("%q: error %v; url.ParseRequestURI: %v", p, err, werr)
			continue
		}
		if err == nil && !reflect.DeepEqual(*got, *want) {
			t.Errorf("%q: %#v; url.ParseRequestURI: %#v", p, *got, *want)
		}
	}
}

// TestSectionRoundTrip: what appendSection encodes, quic-go's QPACK decoder and the
// server's own decode to the same fields, for static pairs, static names and literals.
func TestSectionRoundTrip(t *testing.T) {
	h := http.Header{"Content-Type": {"text/plain;charset=utf-8"}, "Content-Length": {"13"},
		"X-Custom": {"a", "b"}, "Cache-Control": {"no-cache"}, "Vary": {strings.Repeat("v", 300)}}
	sec := appendSection(nil, 200, h, func(string) bool { return false })
	want := map[string][]string{":status": {"200"}}
	for k, vv := range h {
		want[strings.ToLower(k)] = vv
	}
	gotQ := map[string][]string{}
	dec := qpack.NewDecoder().Decode(sec)
	for {
		hf, err := dec()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("quic-go's decoder: %v", err)
		}
		gotQ[hf.Name] = append(gotQ[hf.Name], hf.Value)
	}
	if !reflect.DeepEqual(gotQ, want) {
		t.Errorf("quic-go's decoder: %v; want %v", gotQ, want)
	}
	d, err := decodeSection(sec, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.release()
	got := map[string][]string{}
	for _, f := range d.fields {
		got[f.name] = append(got[f.name], f.value)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeSection: %v; want %v", got, want)
	}
}

// TestHuffCache: a section decoded with the connection's cache gives the same fields the
// second time (from the cache) as the first, and the cache stays within its bounds.
func TestHuffCache(t *testing.T) {
	var block bytes.Buffer
	enc := qpack.NewEncoder(&block) // Huffman-codes every literal
	for _, f := range [][2]string{{":authority", "a.example"}, {"user-agent", "test agent/1.0"},
		{"x-long", strings.Repeat("z", 400)}, {"x-custom", "value"}} {
		enc.WriteField(qpack.HeaderField{Name: f[0], Value: f[1]})
	}
	var cache huffCache
	var first []field
	for i := range 2 {
		d, err := decodeSection(block.Bytes(), 1<<20, &cache)
		if err != nil {
			t.Fatal(err)
		}
		got := append([]field(nil), d.fields...)
		d.release()
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("from the cache: %v; first: %v", got, first)
		}
	}
	if first[1].value != "test agent/1.0" || first[2].value != strings.Repeat("z", 400) {
		t.Fatalf("decoded %v", first)
	}
	m := *cache.m.Load()
	if len(m) == 0 || len(m) > huffCacheEntries {
		t.Fatalf("%d cached strings", len(m))
	}
	for k := range m {
		if len(k) > huffCacheMaxLen {
			t.Fatalf("cached a %d-byte string", len(k))
		}
	}
	for i := range 2 * huffCacheEntries {
		cache.put([]byte(strconv.Itoa(i)), []byte("v"))
	}
	if n := len(*cache.m.Load()); n != huffCacheEntries {
		t.Fatalf("%d cached strings after filling; want %d", n, huffCacheEntries)
	}
}
