package proxy

import (
	"log"
	"log/slog"
	"net/http"
	"strconv"
)

// serveError answers a request the proxy could not complete with a short plain-text body
// (or the request's ErrorWriter's page): 502, 503 or 504 when the upstream failed, 400, 408
// or 499 (client closed, never seen by the client) when the client did. The details (upstream address, Go error) go to the
// Manager's logger only: at WARN for upstream failures, at DEBUG for the client's.
func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	info := infoFrom(ctx)
	outcome := OutcomeUpstreamError
	if info != nil && info.Outcome != "" {
		outcome = info.Outcome
	} else if info != nil {
		info.Outcome = outcome
	}
	cause := err
	if clientCaused(outcome) && info != nil && info.body != nil && info.body.err() != nil {
		cause = info.body.err()
	}
	status := outcomeStatus(outcome, cause)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", h.retryAfter)
	}
	level := slog.LevelWarn
	if clientCaused(outcome) {
		level = slog.LevelDebug
	}
	if h.m.log.Enabled(ctx, level) {
		attrs := []slog.Attr{
			slog.String("route", h.cfg.label()),
			slog.String("host", r.Host),
			slog.Int("status", status),
			slog.String("outcome", outcome),
			slog.Any("error", cause),
		}
		if info != nil && info.Upstream != nil {
			attrs = append(attrs, slog.String("upstream", info.Upstream.Redacted()), slog.Int("attempts", info.Attempts))
		}
		h.m.log.LogAttrs(ctx, level, "proxy: request failed", attrs...)
	}
	if info != nil && info.errors != nil {
		w.Header().Set("Cache-Control", "no-store")
		info.errors.WriteError(w, r, status)
		return
	}
	writeStatus(w, status)
}

// writeStatus writes "<code> <text>\n" as the whole response, not to be cached.
func writeStatus(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
}

// slogErrorLog adapts the Manager's logger to ReverseProxy.ErrorLog (failures after the
// response started, e.g. a broken stream). At DEBUG: Handler logs those it can blame on
// the upstream itself, at WARN, and a client going away is no news.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelDebug)
}
