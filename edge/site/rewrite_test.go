package site

import (
	"errors"
	"strings"
	"testing"
)

func TestRewriteApply(t *testing.T) {
	cases := []struct {
		from, to, path, query string
		wantPath, wantQuery   string
		ok                    bool
	}{
		{"/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024/hello", "", "/posts/hello", "y=2024", true},
		{"/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024/hello", "a=1&y=9&b", "/posts/hello", "y=2024&a=1&b", true},
		{"/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024", "", "", "", false},
		{"/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024/hello/x", "", "", "", false},
		{"/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024/", "", "", "", false},
		{"/blog/{year}/{slug}", "/posts/{slug}", "/blog/a/b", "q=1", "/posts/b", "q=1", true},
		{"/blog/{year}/{slug}", "/posts/{slug}?", "/blog/a/b", "q=1", "/posts/b", "", true},
		{"/blog/{y}/{s}", "/p?s={s}", "/blog/a/b c&d=e", "", "/p", "s=b+c%26d%3De", true},
		{"/static/{rest...}", "/assets/{rest}", "/static/css/a.css", "", "/assets/css/a.css", "", true},
		{"/static/{rest...}", "/assets/{rest}", "/static", "", "/assets/", "", true},
		{"/static/{rest...}", "/assets/{rest}", "/static/", "", "/assets/", "", true},
		{"/static/{rest...}", "/assets/{rest}", "/staticx", "", "", "", false},
		{"/", "/index.html", "/", "", "/index.html", "", true},
		{"/", "/index.html", "/a", "", "", "", false},
		{"/{rest...}", "/app/{rest}", "/", "", "/app/", "", true},
		{"/dir/", "/d", "/dir/", "", "/d", "", true},
		{"/dir/", "/d", "/dir", "", "", "", false},
		{"/u/{id}/x", "/user-{id}.html", "/u/42/x", "", "/user-42.html", "", true},
		{"/Caps", "/c", "/caps", "", "", "", false},
		{"/caf%C3%A9/{x}", "/a%20b/{x}", "/café/1", "", "/a b/1", "", true},
	}
	for _, c := range cases {
		rr, err := CompileRewrite(Rewrite{From: c.from, To: c.to})
		if err != nil {
			t.Fatalf("%s -> %s: %v", c.from, c.to, err)
		}
		p, q, ok := rr.Apply(c.path, c.query)
		if ok != c.ok || p != c.wantPath || q != c.wantQuery {
			t.Errorf("%s -> %s on %s?%s = %q %q %v; want %q %q %v", c.from, c.to, c.path, c.query, p, q, ok, c.wantPath, c.wantQuery, c.ok)
		}
	}
}

func TestRewriteCompileErrors(t *testing.T) {
	cases := []struct {
		from, to, field string
		off             int
		msg             string
	}{
		{"blog", "/x", "from", 0, "begin with"},
		{"/a//b", "/x", "from", 3, "empty segment"},
		{"/a/../b", "/x", "from", 3, "\"..\" segment"},
		{"/a/x{id}", "/x", "from", 4, "whole segment"},
		{"/a/{id}x", "/x", "from", 3, "whole segment"},
		{"/a/{rest...}/b", "/x", "from", 3, "last segment"},
		{"/a/{1d}", "/x", "from", 4, "capture name"},
		{"/a/{}", "/x", "from", 4, "1 to 32"},
		{"/{a}/{a}", "/x", "from", 6, "twice"},
		{"/a?b", "/x", "from", 2, "\"?\""},
		{"/a}", "/x", "from", 2, "without \"{\""},
		{"/a b", "/x", "from", 2, "white-space"},
		{"/a\u200bb", "/x", "from", 2, "invisible"},
		{"/a#b", "/x", "from", 2, "fragment"},
		{"/" + strings.Repeat("a", MaxRewriteFrom), "/x", "from", MaxRewriteFrom, "bytes long"},
		{"/{a}", "/x/{b}", "to", 3, "does not capture"},
		{"/{a...}", "/x/{a...}", "to", 3, "without \"...\""},
		{"/{a}", "/x/{a", "to", 3, "without \"}\""},
		{"/{a}", "/x/a}", "to", 4, "without \"{\""},
		{"/{a}", "/x?{a}=1", "to", 3, "only be in values"},
		{"/{a}", "x", "to", 0, "begin with"},
		{"/a%2Fb", "/x", "from", 1, "escapes"},
		{"/a%zz", "/x", "from", 1, "invalid percent-escape"},
		{"/{a}", "/x%2F{a}", "to", 0, "escapes"},
	}
	for _, c := range cases {
		_, err := CompileRewrite(Rewrite{From: c.from, To: c.to})
		var re *RewriteError
		if !errors.As(err, &re) {
			t.Errorf("%q -> %q: err = %v; want a RewriteError", c.from, c.to, err)
			continue
		}
		if re.Field != c.field || re.Offset != c.off || !strings.Contains(re.Msg, c.msg) {
			t.Errorf("%q -> %q: err = %+v; want %s at %d containing %q", c.from, c.to, re, c.field, c.off, c.msg)
		}
	}
	many := strings.Repeat("/{a}", 0)
	for i := 0; i <= MaxRewriteCaptures; i++ {
		many += "/{c" + string(rune('a'+i)) + "}"
	}
	if _, err := CompileRewrite(Rewrite{From: many, To: "/"}); err == nil || !strings.Contains(err.Error(), "captures") {
		t.Errorf("%d captures: err = %v", MaxRewriteCaptures+1, err)
	}
}

func TestRewriteApplyNoAllocOnMiss(t *testing.T) {
	rr, err := CompileRewrite(Rewrite{From: "/blog/{year}/{slug}", To: "/posts/{slug}"})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { rr.Apply("/shop/cart/x", "a=1") }); n != 0 {
		t.Errorf("a miss allocates %v times", n)
	}
}

// FuzzRewrite: any pattern and target either compile or give a RewriteError; a compiled
// rewrite applied to any path yields a path beginning with "/" and never panics.
func FuzzRewrite(f *testing.F) {
	f.Add("/blog/{year}/{slug}", "/posts/{slug}?y={year}", "/blog/2024/x", "a=1&y=2")
	f.Add("/{rest...}", "/app/{rest}?", "/a/b/c", "")
	f.Add("/a/{x}/", "/{x}{x}{x}", "/a/%2e%2e/", "x")
	f.Fuzz(func(t *testing.T, from, to, p, q string) {
		rr, err := CompileRewrite(Rewrite{From: from, To: to})
		if err != nil {
			var re *RewriteError
			if !errors.As(err, &re) || re.Offset < 0 {
				t.Fatalf("%q -> %q: %v", from, to, err)
			}
			return
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		np, _, ok := rr.Apply(p, q)
		if ok && !strings.HasPrefix(np, "/") {
			t.Fatalf("%q -> %q on %q = %q", from, to, p, np)
		}
	})
}

func BenchmarkRewriteApply(b *testing.B) {
	rr, err := CompileRewrite(Rewrite{From: "/blog/{year}/{slug}", To: "/posts/{slug}?y={year}"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rr.Apply("/blog/2024/hello-world", "utm=x&a=1")
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rr.Apply("/shop/cart/items/42", "a=1")
		}
	})
}
