package edge

import (
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/net/http/httpguts"

	"github.com/edgectl/edge/edge/site"
)

// headerOps are a site's response header changes, prepared once per snapshot.
type headerOps struct {
	hsts   string      // Strict-Transport-Security value; empty means leave as is
	set    [][2]string // canonical name, value
	remove []string    // canonical names
}

// newHeaderOps validates h and prepares it.
func newHeaderOps(h site.Headers) (headerOps, error) {
	var ops headerOps
	if h.HSTS != nil {
		if h.HSTS.MaxAge < 0 {
			return ops, fmt.Errorf("hsts: negative max age %v", h.HSTS.MaxAge)
		}
		ops.hsts = hstsValue(h.HSTS)
	}
	for _, name := range h.Remove {
		if !httpguts.ValidHeaderFieldName(name) {
			return ops, fmt.Errorf("headers: remove: invalid header name %q", name)
		}
		ops.remove = append(ops.remove, http.CanonicalHeaderKey(name))
	}
	for name, value := range h.Set {
		if !httpguts.ValidHeaderFieldName(name) {
			return ops, fmt.Errorf("headers: set: invalid header name %q", name)
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return ops, fmt.Errorf("headers: set %s: invalid value", name)
		}
		ops.set = append(ops.set, [2]string{http.CanonicalHeaderKey(name), value})
	}
	return ops, nil
}

// hstsValue formats a Strict-Transport-Security header value.
func hstsValue(h *site.HSTS) string {
	v := "max-age=" + strconv.FormatInt(int64(h.MaxAge.Seconds()), 10)
	if h.IncludeSubdomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}

// apply changes hdr: Remove first, then Set and HSTS, so a declared value always wins.
func (o *headerOps) apply(hdr http.Header) {
	for _, k := range o.remove {
		delete(hdr, k)
	}
	for _, kv := range o.set {
		hdr[kv[0]] = []string{kv[1]}
	}
	if o.hsts != "" {
		hdr["Strict-Transport-Security"] = []string{o.hsts}
	}
}

// empty reports whether apply would change nothing.
func (o *headerOps) empty() bool {
	return o.hsts == "" && len(o.set) == 0 && len(o.remove) == 0
}
