package proxy

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"strconv"
)

// serveError answers a request the proxy could not complete with a short plain-text body.
// The details (upstream address, Go error) go to the Manager's logger only.
func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	status := http.StatusBadGateway
	switch {
	case errors.Is(err, errNoUpstream):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", h.retryAfter)
	case isTimeout(err):
		status = http.StatusGatewayTimeout
	}
	level := slog.LevelWarn
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		level = slog.LevelDebug // the client went away
	}
	if h.m.log.Enabled(ctx, level) {
		attrs := []slog.Attr{
			slog.String("route", h.cfg.label()),
			slog.String("host", r.Host),
			slog.Int("status", status),
			slog.Any("error", err),
		}
		if info := InfoFrom(ctx); info != nil && info.Upstream != nil {
			attrs = append(attrs, slog.String("upstream", info.Upstream.Redacted()), slog.Int("attempts", info.Attempts))
		}
		h.m.log.LogAttrs(ctx, level, "proxy: upstream request failed", attrs...)
	}
	writeStatus(w, status)
}

// writeStatus writes "<code> <text>\n" as the whole response, not to be cached.
func writeStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
}

// slogErrorLog adapts the Manager's logger to ReverseProxy.ErrorLog (used for failures
// after the response started, e.g. a broken stream).
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}
