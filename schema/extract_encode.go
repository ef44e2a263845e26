package schema

import (
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// encodeDecl is what a route declares of compression, Cache-Control rules and CORS.
type encodeDecl struct {
	Compress compressDecl     `json:",omitzero"`
	Cache    []site.CacheRule `json:",omitzero"` // in the order written
	CORS     *site.CORS       `json:",omitzero"`
}

// compressDecl is a compress setting: unset inherits the repo's, Off turns it off, else C.
type compressDecl struct {
	Set bool           `json:",omitzero"`
	Off bool           `json:",omitzero"`
	C   *site.Compress `json:",omitzero"`
}

// resolve returns the Compress of a route declaring d in a repo whose default is repo.
func (d compressDecl) resolve(repo compressDecl) *site.Compress {
	for _, c := range []compressDecl{d, repo} {
		if c.Set {
			if c.Off || c.C == nil {
				return nil
			}
			cp := *c.C
			return &cp
		}
	}
	return nil
}

// encode reads the compress, cache_control and cors fields of the route at route (whose
// normalised prefix is prefix).
func (x *extractor) encode(v val, route fieldPath, prefix string) encodeDecl {
	return encodeDecl{
		Compress: x.compress(v, route),
		Cache:    x.cacheControl(v, route, prefix),
		CORS:     x.cors(v, route),
	}
}

// compress reads the compress field of v (a route, or the repo's defaults) written at at.
func (x *extractor) compress(v val, at fieldPath) compressDecl {
	cv := lookup(v, "compress")
	if !cv.Exists() {
		return compressDecl{}
	}
	if b, err := cv.Bool(); err == nil {
		if !b {
			return compressDecl{Set: true, Off: true}
		}
		return compressDecl{Set: true, C: &site.Compress{}}
	}
	at = at.field("compress")
	c := &site.Compress{}
	types := strList(cv, "types")
	if len(types) > site.MaxCompressTypes {
		x.errorf(at.field("types"), "compress types: %d media types; at most %d", len(types), site.MaxCompressTypes)
		types = nil
	}
	for i, t := range types {
		if err := site.CheckCompressType(t); err != nil {
			x.errorf(at.field("types").index(i), "compress types: %v", err)
			continue
		}
		c.Types = append(c.Types, t)
	}
	if n, ok := x.integer(cv, at, "min_size", 0, site.MaxCompressMinSize); ok {
		c.MinSize = int64(n)
	}
	seen := map[string]bool{}
	for i, e := range strList(cv, "encodings") {
		if err := site.CheckEncoding(e); err != nil {
			x.errorf(at.field("encodings").index(i), "compress encodings: %v", err)
			continue
		}
		if seen[e] {
			x.errorf(at.field("encodings").index(i), "compress encodings: %q is listed twice", e)
			continue
		}
		seen[e] = true
		c.Encodings = append(c.Encodings, e)
	}
	return compressDecl{Set: true, C: c}
}

// cacheControl reads the cache_control rules of the route at route, in the order written,
// warning about a pattern no path under the route's prefix can match.
func (x *extractor) cacheControl(v val, route fieldPath, prefix string) []site.CacheRule {
	cv := lookup(v, "cache_control")
	it, err := cv.Fields()
	if err != nil || !cv.Exists() {
		return nil
	}
	at := route.field("cache_control")
	var rules []site.CacheRule
	for n := 0; it.Next(); n++ {
		if n == site.MaxCacheRules {
			x.errorf(at, "cache_control has more than %d patterns; merge them (\"**\" matches across \"/\")", site.MaxCacheRules)
			return nil
		}
		p := it.Label()
		val, _ := it.Value().String()
		pat := at.field(p)
		if err := site.CheckCachePattern(p); err != nil {
			x.errorf(pat, "cache_control: %v", err)
			continue
		}
		if err := site.CheckCacheValue(val); err != nil {
			x.errorf(pat, "cache_control %q: %v", p, err)
			continue
		}
		if strings.HasPrefix(p, "/") && !patternUnder(p, prefix) {
			x.warnf(pat, "cache_control pattern %q never matches under route %q: patterns match the whole request path, prefix included", p, prefix)
		}
		rules = append(rules, site.CacheRule{Pattern: p, Value: val})
	}
	return rules
}

// patternUnder reports whether the path pattern p may match a path under prefix: the
// literal part of p before its first wildcard and the prefix must agree.
func patternUnder(p, prefix string) bool {
	lit := p
	if i := strings.IndexAny(p, "*?"); i >= 0 {
		lit = p[:i]
	}
	return prefix == "/" || strings.HasPrefix(lit, prefix) || strings.HasPrefix(prefix, lit)
}
