package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// checkWeights refuses weights that are not one per upstream, each from 1 to
// site.MaxWeight.
func (c *config) checkWeights() error {
	if c.Weights == nil {
		return nil
	}
	if len(c.Weights) != len(c.Upstreams) {
		return fmt.Errorf("proxy: route %q: %d weights for %d upstreams", c.label(), len(c.Weights), len(c.Upstreams))
	}
	for i, w := range c.Weights {
		if w < 1 || w > site.MaxWeight {
			return fmt.Errorf("proxy: route %q: upstream %d: weight %d; want 1 to %d", c.label(), i, w, site.MaxWeight)
		}
	}
	return nil
}

// checkSticky applies the defaults of the sticky setting, if any, to a copy, and refuses
// a cookie name or path that cannot be sent, a negative max age or an unknown SameSite.
func (c *config) checkSticky() error {
	if c.Sticky == nil {
		return nil
	}
	s := c.Sticky.WithDefaults(c.Path)
	c.Sticky = &s
	ck := http.Cookie{Name: s.Cookie, Value: "x", Path: s.Path}
	if err := ck.Valid(); err != nil || strings.ContainsAny(s.Path, ";\x00") {
		return fmt.Errorf("proxy: route %q: sticky cookie %q with path %q cannot be sent: %v", c.label(), s.Cookie, s.Path, err)
	}
	switch {
	case s.MaxAge < 0:
		return fmt.Errorf("proxy: route %q: sticky max age %v is negative", c.label(), s.MaxAge)
	case s.SameSite != site.SameSiteLax && s.SameSite != site.SameSiteStrict && s.SameSite != site.SameSiteNone:
		return fmt.Errorf("proxy: route %q: sticky same_site %q; want lax, strict or none", c.label(), s.SameSite)
	}
	return nil
}
