package edge

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// cacheRules are a route's Cache-Control rules, compiled once per snapshot. Patterns are
// compiled to RE2 expressions, so matching is linear in the path whatever the pattern.
type cacheRules []cacheRule

type cacheRule struct {
	re    *regexp.Regexp
	base  bool   // matched against the path's last segment
	value string // Cache-Control value
}

// newCacheRules validates and compiles rules.
func newCacheRules(rules []site.CacheRule) (cacheRules, error) {
	if err := site.CheckCacheRules(rules); err != nil {
		return nil, err
	}
	out := make(cacheRules, 0, len(rules))
	for _, r := range rules {
		re, err := regexp.Compile(globRegexp(r.Pattern))
		if err != nil { // CheckCachePattern let through what globRegexp cannot quote: a bug
			return nil, fmt.Errorf("cache_control %q: %w", r.Pattern, err)
		}
		out = append(out, cacheRule{re: re, base: !strings.HasPrefix(r.Pattern, "/"), value: r.Value})
	}
	return out, nil
}

// globRegexp translates a CacheRule pattern into an anchored regular expression: "**" any
// characters, "*" any but "/", "?" one but "/", the rest literally.
func globRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch {
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			j := i + 1
			for j < len(p) && p[j] != '*' && p[j] != '?' {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j - 1
		}
	}
	b.WriteString("$")
	return b.String()
}

// match returns the Cache-Control value of the first rule matching the request path p, or
// "".
func (c cacheRules) match(p string) string {
	for i := range c {
		s := p
		if c[i].base {
			s = path.Base(p)
		}
		if c[i].re.MatchString(s) {
			return c[i].value
		}
	}
	return ""
}

// cacheableStatus reports whether a response with status code gets a rule's
// Cache-Control: success and redirects (as nginx's expires), never errors, so that a 404 or
// a 502 is not cached for a year.
func cacheableStatus(code int) bool {
	return code >= 200 && code < 400
}
