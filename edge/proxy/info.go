package proxy

import (
	"context"
	"net/url"
)

// Info records what the proxy did with one request, for access logs and metrics. Create a
// zero Info per request, attach it with WithInfo before calling Handler.ServeHTTP, and read
// it after ServeHTTP returns. Do not share one Info between requests.
type Info struct {
	// Upstream is the configured URL (an element of Config.Upstreams) of the last upstream
	// tried; nil if none was (no upstream up, or the request was refused earlier).
	Upstream *url.URL
	// Attempts is the number of upstreams tried: 1 normally, more after retries.
	Attempts int
	// Err is the error of the last attempt; nil when the upstream answered.
	Err error

	active *upstream // upstream whose in-flight count this request holds
	tried  uint64    // bit i: target i tried
}

type infoKey struct{}

// WithInfo returns ctx carrying info, for Handler to fill in.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the Info attached to ctx by WithInfo, or nil.
func InfoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}
