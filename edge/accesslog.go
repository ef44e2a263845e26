package edge

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge/proxy"
)

// NewAccessLogger returns a logger for Options.AccessLog writing one line per request to
// w, as JSON if json is true and as logfmt-like text otherwise.
func NewAccessLogger(w io.Writer, json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// observe records one finished request in the metrics and the access log. The access log
// line has: site ("-" if none), host, method, path (without the query, which may carry
// secrets), status, bytes, duration_ms, upstream (the upstream URL used, if any), attempts
// (when retried), outcome (when the request did not end normally: client_closed,
// client_error, body_timeout, upstream_error, upstream_aborted, panic), proto and remote.
// A request whose client left before any response is logged with status 499, as nginx.
func (s *Server) observe(r *http.Request, site *siteEntry, status int, bytes int64, d time.Duration, info *proxy.Info) {
	name := noSite
	if site != nil {
		name = site.site.Name
	}
	proto := protoLabel(r)
	outcome := ""
	if info != nil {
		outcome = info.Outcome
	}
	s.metrics.request(name, status, outcome == proxy.OutcomeClientClosed, proto, d)
	if outcome == proxy.OutcomeUpstreamError || outcome == proxy.OutcomeUpstreamAborted {
		s.metrics.upstreamErrors.WithLabelValues(name).Inc()
	}
	if s.accessLog == nil || !s.accessLog.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("site", name),
		slog.String("host", r.Host),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	)
	if info != nil && info.Upstream != nil {
		attrs = append(attrs, slog.String("upstream", info.Upstream.String()))
		if info.Attempts > 1 {
			attrs = append(attrs, slog.Int("attempts", info.Attempts))
		}
	}
	if outcome != "" {
		attrs = append(attrs, slog.String("outcome", outcome))
	}
	attrs = append(attrs, slog.String("proto", proto), slog.String("remote", r.RemoteAddr))
	s.accessLog.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}

// protoLabels are the values protoLabel returns.
var protoLabels = []string{"h3", "h2", "http/1.1", "http/1.0"}

// protoLabel names the protocol of r: one of protoLabels.
func protoLabel(r *http.Request) string {
	switch {
	case r.ProtoMajor == 3:
		return "h3"
	case r.ProtoMajor == 2:
		return "h2"
	case r.ProtoAtLeast(1, 1):
		return "http/1.1"
	default:
		return "http/1.0"
	}
}
