package schema

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// encodeChanges describes how route b's compression, Cache-Control rules and CORS became
// h's, one line each that changed.
func encodeChanges(b, h site.Route) []string {
	var out []string
	if !reflect.DeepEqual(b.Compress, h.Compress) {
		out = append(out, fmt.Sprintf("compress %s → %s", compressString(b.Compress), compressString(h.Compress)))
	}
	if !reflect.DeepEqual(b.CacheControl, h.CacheControl) {
		out = append(out, fmt.Sprintf("cache_control %s → %s", cacheString(b.CacheControl), cacheString(h.CacheControl)))
	}
	if !reflect.DeepEqual(b.CORS, h.CORS) {
		out = append(out, fmt.Sprintf("cors %s → %s", corsString(b.CORS), corsString(h.CORS)))
	}
	return out
}

func compressString(c *site.Compress) string {
	if c == nil {
		return "off"
	}
	d := c.WithDefaults()
	return fmt.Sprintf("{%s, min_size %d, types %d}", strings.Join(d.Encodings, " "), d.MinSize, len(d.Types))
}

func cacheString(rules []site.CacheRule) string {
	if len(rules) == 0 {
		return "none"
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmt.Sprintf("%q: %q", r.Pattern, r.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func corsString(c *site.CORS) string {
	if c == nil {
		return "off"
	}
	s := "{origins " + strings.Join(c.Origins, " ")
	if len(c.Methods) > 0 {
		s += ", methods " + strings.Join(c.Methods, " ")
	}
	if len(c.Headers) > 0 {
		s += ", headers " + strings.Join(c.Headers, " ")
	}
	if c.Credentials {
		s += ", credentials"
	}
	return s + "}"
}
