package schema

import "context"

// LoadTrace is a set of hooks a caller of Loader.LoadContext can have called while the load
// runs (see WithLoadTrace), in the manner of net/http/httptrace: the agent uses SiteKey to
// read each site's private key while the other sites are still being evaluated, rather than
// all of them after the load. Hooks are called from the load's workers, possibly at once
// from several: they must be safe for concurrent use and should return quickly.
type LoadTrace struct {
	// SiteKey is called with the key reference of each site file that has evaluated
	// without an error and names a key (neither passthrough nor issued), as soon as it
	// has, before its certificate is read. Each site of the load is reported at most
	// once; sites sharing a key report it each. The load may still fail afterwards (a
	// later file, a cross-file check), so what the hook does must be undone or harmless
	// if it does.
	SiteKey func(KeyRef)
}

type loadTraceKey struct{}

// WithLoadTrace returns a context whose loads (Loader.LoadContext) call t's hooks.
func WithLoadTrace(ctx context.Context, t *LoadTrace) context.Context {
	return context.WithValue(ctx, loadTraceKey{}, t)
}

// loadTraceOf returns the LoadTrace of ctx, or nil.
func loadTraceOf(ctx context.Context) *LoadTrace {
	t, _ := ctx.Value(loadTraceKey{}).(*LoadTrace)
	return t
}

// siteKey calls t.SiteKey, if t has one, with d's key reference.
func (t *LoadTrace) siteKey(d *siteDecl) {
	if t != nil && t.SiteKey != nil {
		t.SiteKey(d.Key)
	}
}
