package schema

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// clientAuthDecl is a site's client_auth: the CA bundle's repo path and the mode.
type clientAuthDecl struct {
	CA   strPos              `json:",omitzero"`
	Mode site.ClientCertMode `json:",omitzero"`
}

// maxForwardAuthTimeout bounds a forward_auth timeout: a request waits this long at most.
const maxForwardAuthTimeout = time.Minute

// routeAuth reads the basic_auth and forward_auth of the route at at into r, refusing a
// route with both.
func (x *extractor) routeAuth(v val, at fieldPath, r *routeDecl) {
	r.BasicAuth = x.basicAuth(v, at)
	r.ForwardAuth = x.forwardAuth(v, at)
	if r.BasicAuth != nil && r.ForwardAuth != nil {
		x.errorf(at.field("forward_auth"), "route %q has both basic_auth and forward_auth; keep one (the auth service can check the Authorization header itself)", r.Path.S)
	}
}

// basicAuth reads the basic_auth of the route at route; nil when it has none.
func (x *extractor) basicAuth(v val, route fieldPath) *site.BasicAuth {
	bv := lookup(v, "basic_auth")
	if !bv.Exists() {
		return nil
	}
	at := route.field("basic_auth")
	b := &site.BasicAuth{}
	b.Realm, _ = str(bv, "realm")
	uv := lookup(bv, "users")
	b.Users.Mount, _ = str(uv, "mount")
	b.Users.Path, _ = str(uv, "path")
	// The same checks as a key's reference (with a field that is always fine).
	x.checkSecretRef(at.field("users"), b.Users)
	return b
}

// checkSecretRef refuses what checkKeyRef refuses in a key reference, in a reference to a
// whole secret.
func (x *extractor) checkSecretRef(at fieldPath, r site.SecretRef) {
	before := len(x.ds)
	x.checkKeyRef(at, KeyRef{Mount: r.Mount, Path: r.Path, Field: "users"})
	for i := before; i < len(x.ds); i++ {
		x.ds[i].Message = strings.Replace(x.ds[i].Message, "key ", "users ", 1)
	}
}

// forwardAuth reads the forward_auth of the route at route; nil when it has none.
func (x *extractor) forwardAuth(v val, route fieldPath) *site.ForwardAuth {
	fv := lookup(v, "forward_auth")
	if !fv.Exists() {
		return nil
	}
	at := route.field("forward_auth")
	f := &site.ForwardAuth{}
	raw, _ := str(fv, "url")
	if x.plain(at.field("url"), "forward_auth url", raw) {
		if _, err := parseAuthURL(raw); err != nil {
			x.errorf(at.field("url"), "forward_auth url %q %v", raw, err)
		} else {
			f.URL, _ = url.Parse(raw)
		}
	}
	if lookup(fv, "request_headers").Exists() { // [] sends none; unset sends the defaults
		f.RequestHeaders = x.authHeaders(fv, at, "request_headers")
		if f.RequestHeaders == nil {
			f.RequestHeaders = []string{}
		}
	}
	f.ResponseHeaders = x.authHeaders(fv, at, "response_headers")
	if d := x.duration(fv, at, "timeout"); d != nil {
		f.Timeout = *d
		if *d < time.Millisecond || *d > maxForwardAuthTimeout {
			x.errorf(at.field("timeout"), "forward_auth timeout %v; want 1ms to %v", *d, maxForwardAuthTimeout)
		}
	}
	return f
}

// parseAuthURL checks an auth service URL: what parseUpstream accepts, plus a query.
func parseAuthURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("is not a URL (%s)", cleanURLErr(err))
	}
	base := *u
	base.RawQuery, base.ForceQuery = "", false
	return parseUpstream(base.String())
}

// authHeaders reads the header name list field of a forward_auth at at (canonical names),
// refusing names the edge manages and names listed twice.
func (x *extractor) authHeaders(v val, at fieldPath, field string) []string {
	var out []string
	seen := map[string]bool{}
	for i, n := range strList(v, field) {
		hat := at.field(field).index(i)
		c := http.CanonicalHeaderKey(n)
		switch {
		case managedHeader(c) != "":
			x.errorf(hat, "forward_auth %s: %s cannot be copied: %s", field, c, managedHeader(c))
		case seen[c]:
			x.errorf(hat, "forward_auth %s: %s is listed twice", field, c)
		default:
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// clientAuth reads the site's client_auth; nil when it has none.
func (x *extractor) clientAuth(v val, siteAt fieldPath) *clientAuthDecl {
	cv := lookup(v, "client_auth")
	if !cv.Exists() {
		return nil
	}
	at := siteAt.field("client_auth")
	c := &clientAuthDecl{}
	ca, _ := str(cv, "ca")
	clean := path.Clean(ca)
	if !x.plain(at.field("ca"), "client_auth ca", ca) {
		clean = "."
	} else if !fs.ValidPath(clean) || clean == "." {
		x.errorf(at.field("ca"), "client_auth ca %q is not a file path inside the repo; want e.g. \"certs/clients-ca.pem\"", ca)
	}
	c.CA = strPos{clean, x.pos(at.field("ca"))}
	mode, _ := str(cv, "mode")
	c.Mode = site.ClientCertMode(mode)
	return c
}
