package edge

import (
	"path"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// cacheRules are a route's Cache-Control rules, compiled once per snapshot (see glob: the
// matching is linear in the path whatever the patterns).
type cacheRules []cacheRule

type cacheRule struct {
	re    *glob
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
		out = append(out, cacheRule{re: compileGlob(r.Pattern), base: !strings.HasPrefix(r.Pattern, "/"), value: r.Value})
	}
	return out, nil
}

// match returns the Cache-Control value of the first rule matching the request path p, or
// "".
func (c cacheRules) match(p string) string {
	for i := range c {
		s := p
		if c[i].base {
			s = path.Base(p)
		}
		if c[i].re.match(s) {
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
