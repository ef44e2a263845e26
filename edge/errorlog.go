package edge

import (
	"context"
	"log"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// serverErrorLog returns the ErrorLog of an http.Server: net/http reports failed TLS
// handshakes only there, so each "TLS handshake error" line is counted by reason and
// logged at debug level (scanners make them common); other lines are logged as warnings.
func serverErrorLog(logger *slog.Logger, failures *prometheus.CounterVec, listener string) *log.Logger {
	return log.New(&errorLogWriter{log: logger.With("listener", listener), failures: failures}, "", 0)
}

type errorLogWriter struct {
	log      *slog.Logger
	failures *prometheus.CounterVec
}

const handshakeErrorPrefix = "http: TLS handshake error from "

// Write implements io.Writer for log.Logger: p is one line.
func (w *errorLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if rest, ok := strings.CutPrefix(line, handshakeErrorPrefix); ok {
		remote, msg, _ := strings.Cut(rest, ": ")
		if strings.HasSuffix(msg, errPassedThrough.Error()) || strings.Contains(msg, errProxyHeader.Error()) {
			return len(p), nil // passed through, or a bad PROXY header (counted and logged apart)
		}
		reason := handshakeFailureReason(msg)
		if reason != "" && w.failures != nil {
			w.failures.WithLabelValues(reason).Inc()
		} else if reason == "" {
			// crypto/tls words refuseConfig's refusal as if nothing were configured.
			reason, msg = "unknown_sni", "no site serves the server name the client asked for, or it sent none (unrecognized_name sent)"
		}
		w.log.LogAttrs(context.Background(), slog.LevelDebug, "tls handshake failed",
			slog.String("remote", remote), slog.String("reason", reason), slog.String("error", msg))
		return len(p), nil
	}
	w.log.LogAttrs(context.Background(), slog.LevelWarn, line)
	return len(p), nil
}

// handshakeFailureReason classifies a crypto/tls handshake error message. It returns ""
// for refusals already counted when they were decided (unknown or absent SNI).
func handshakeFailureReason(msg string) string {
	switch {
	case strings.Contains(msg, "no certificates configured"):
		return "" // refuseConfig: counted in getConfigForClient
	case strings.Contains(msg, "timeout"):
		return "timeout"
	case strings.HasSuffix(msg, "EOF") || strings.Contains(msg, "connection reset"):
		return "eof"
	case strings.Contains(msg, "protocol version") || strings.Contains(msg, "unsupported versions"):
		return "protocol_version"
	case strings.Contains(msg, "cipher suite") || strings.Contains(msg, "no ECDHE curve") ||
		strings.Contains(msg, "mutually supported"):
		return "no_shared_cipher"
	case strings.Contains(msg, "remote error"):
		return "remote_alert"
	case strings.Contains(msg, "client didn't provide a certificate") || strings.Contains(msg, "failed to verify certificate"):
		return "client_certificate" // a site with client_auth: none, expired, another CA
	case strings.Contains(msg, "does not look like a TLS handshake"):
		return "not_tls"
	default:
		return "other"
	}
}
