package edge

import (
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/net/http/httpguts"

	"github.com/edgectl/edge/edge/site"
)

// headerOps are a site's response header changes, prepared once per snapshot. The value
// slices apply puts in a response's header map are vals' (one element each, capacity
// one so an Add copies): shared by every response, never changed, so no allocation.
type headerOps struct {
	hsts   string      // Strict-Transport-Security value; empty means leave as is
	set    [][2]string // canonical name, value
	remove []string    // canonical names
	vals   []string    // set's values in order, then hsts (if set): what apply assigns
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
	for _, kv := range ops.set {
		ops.vals = append(ops.vals, kv[1])
	}
	if ops.hsts != "" {
		ops.vals = append(ops.vals, ops.hsts)
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
	for i, kv := range o.set {
		hdr[kv[0]] = o.value(i, kv[1])
	}
	if o.hsts != "" {
		hdr["Strict-Transport-Security"] = o.value(len(o.set), o.hsts)
	}
}

// value returns the one-value slice of vals[i], which is v (a new one if vals was not
// prepared, as in a headerOps built by hand).
func (o *headerOps) value(i int, v string) []string {
	if i < len(o.vals) && o.vals[i] == v {
		return o.vals[i : i+1 : i+1]
	}
	return []string{v}
}

// empty reports whether apply would change nothing.
func (o *headerOps) empty() bool {
	return o.hsts == "" && len(o.set) == 0 && len(o.remove) == 0
}
