package edge

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// refRegexp is the meaning of a glob as a regular expression, the reference glob is
// checked against.
func refRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString("(?s:.*)")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return regexp.MustCompile(b.String() + "$")
}

// TestGlobMatchesReference: random patterns (up to the maximum length, so more than one
// word of state) against random paths agree with the regular expression.
func TestGlobMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "/", ".", "*", "**", "?", "a/", "/b"}
	pathAlphabet := []string{"a", "b", "/", ".", "ab", "ba/"}
	for i := 0; i < 3000; i++ {
		var p strings.Builder
		n := r.IntN(12)
		if i%10 == 0 {
			n = 60 + r.IntN(60) // over 64 tokens: several words
		}
		for j := 0; j < n; j++ {
			p.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		pat := strings.ReplaceAll(p.String(), "***", "**")
		for strings.Contains(pat, "***") {
			pat = strings.ReplaceAll(pat, "***", "**")
		}
		g, ref := compileGlob(pat), refRegexp(pat)
		for k := 0; k < 20; k++ {
			var s strings.Builder
			m := r.IntN(16)
			if i%10 == 0 {
				m = r.IntN(200)
			}
			for j := 0; j < m; j++ {
				s.WriteString(pathAlphabet[r.IntN(len(pathAlphabet))])
			}
			if got, want := g.match(s.String()), ref.MatchString(s.String()); got != want {
				t.Fatalf("glob %q on %q: %v; want %v", pat, s.String(), got, want)
			}
		}
		// A path built to match: the pattern with its wildcards filled in.
		fill := strings.NewReplacer("**", "x/y", "*", "zz", "?", "q").Replace(pat)
		if got, want := g.match(fill), ref.MatchString(fill); got != want {
			t.Fatalf("glob %q on %q: %v; want %v", pat, fill, got, want)
		}
	}
}
