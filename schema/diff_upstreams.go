package schema

import (
	"fmt"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// weightsString describes the weights of r: "" without weights, else
// " (weights 95/5)".
func weightsString(r site.Route) string {
	if r.Weights == nil {
		return ""
	}
	parts := make([]string, len(r.Weights))
	for i, w := range r.Weights {
		parts[i] = fmt.Sprint(w)
	}
	return " (weights " + strings.Join(parts, "/") + ")"
}

// weightsChange describes how the weights of the upstreams in both a and b changed:
// "http://a 95 → 90, http://b 5 → 10", or "".
func weightsChange(a, b site.Route) string {
	wa := map[string]int{}
	for i, u := range a.Upstreams {
		wa[u.String()] = a.Weight(i)
	}
	var parts []string
	for i, u := range b.Upstreams {
		if w, ok := wa[u.String()]; ok && w != b.Weight(i) {
			parts = append(parts, fmt.Sprintf("%s %d → %d", u, w, b.Weight(i)))
		} else if !ok && b.Weights != nil {
			parts = append(parts, fmt.Sprintf("%s %d (new)", u, b.Weight(i)))
		}
	}
	return strings.Join(parts, ", ")
}

func equalSticky(a, b *site.Sticky) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// stickyString describes a sticky setting for routeOptions: "" without one.
func stickyString(s *site.Sticky) string {
	if s == nil {
		return ""
	}
	d := s.WithDefaults("")
	out := fmt.Sprintf(", sticky cookie %s", d.Cookie)
	if s.Path != "" {
		out += " path " + s.Path
	}
	if s.MaxAge > 0 {
		out += " max_age " + formatDuration(s.MaxAge)
	}
	out += " samesite " + string(d.SameSite)
	if s.NoHTTPOnly {
		out += " readable by scripts"
	}
	return out
}
