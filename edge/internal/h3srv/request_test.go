package h3srv

import (
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/quic-go/qpack"
)

// TestRequestURLAsParseRequestURI: the fast path for simple paths gives the URL that
// url.ParseRequestURI gives.
func TestRequestURLAsParseRequestURI(t *testing.T) {
	for _, p := range []string{"/", "/a/b", "/a?b=c", "/a?", "/?x=1&y=2", "//double//slash", "/a/../b",
		"/a%20b", "/a#frag", "/x?q=%41", "/é", "/a;b?c;d", "/a?b?c", "*"} {
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
	d, err := decodeSection(sec, 1<<20)
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
