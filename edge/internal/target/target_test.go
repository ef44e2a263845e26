package target

import (
	"net/url"
	"reflect"
	"testing"
)

// FuzzSimpleMatchesParseRequestURI: for a Simple target, URL gives what
// url.ParseRequestURI gives, with an empty RawPath (so EscapedPath is Path as sent).
func FuzzSimpleMatchesParseRequestURI(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/a?b=c", "/a?", "/wiki/Foo_(bar)", "/a;b?c", "/a b",
		"/x?q=%41", "/é", "/a!b", "/[x]", "/a?b?c", "//x", "/@:$&+,="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !Simple(s) {
			return
		}
		if Simple([]byte(s)) != true {
			t.Fatalf("%q: Simple of string and []byte differ", s)
		}
		want, err := url.ParseRequestURI(s)
		if err != nil {
			t.Fatalf("%q: Simple, but url.ParseRequestURI: %v", s, err)
		}
		got := URL(s)
		if !reflect.DeepEqual(got, *want) || want.RawPath != "" || want.EscapedPath() != want.Path {
			t.Fatalf("%q: URL %#v; url.ParseRequestURI %#v", s, got, *want)
		}
	})
}
