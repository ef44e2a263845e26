package schema

import "net/url"

// urlCache shares the upstream URLs parsed during one load: routes naming the same upstream
// (often every site of a fleet behind one backend) get the same *url.URL rather than a
// parse each, about 150 bytes a route. A parsed URL is never changed (site.Route's
// upstreams are shared by the data plane as they are). A nil urlCache parses every time.
type urlCache map[string]*url.URL

// parse returns raw parsed, from the cache when it was parsed before.
func (c urlCache) parse(raw string) (*url.URL, error) {
	if u, ok := c[raw]; ok {
		return u, nil
	}
	u, err := url.Parse(raw)
	if err == nil && c != nil {
		c[raw] = u
	}
	return u, err
}
