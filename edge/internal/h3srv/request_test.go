package h3srv

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
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
