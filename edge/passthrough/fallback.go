package passthrough

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Degraded modes are logged through the logger given to SetLogger: a loop that could
// not be made or failed (each time), and the first copy through user space for want of
// a pipe (once: the count is CopyFallbacks).

var (
	logger         atomic.Pointer[slog.Logger]
	copyFallbacks  atomic.Uint64
	fallbackLogged atomic.Bool // the first fallback was logged
)

// SetLogger sets the logger of the package's warnings (none until set).
func SetLogger(l *slog.Logger) { logger.Store(l) }

// CopyFallbacks returns how many connection directions copied through user space since
// the process started because no pipe could be made for splice(2) (too many open files).
func CopyFallbacks() uint64 { return copyFallbacks.Load() }

// noPipe counts a direction that copies through user space, and logs the first.
func noPipe() {
	copyFallbacks.Add(1)
	if !fallbackLogged.Swap(true) {
		logWarn("passthrough: no pipe for splice (too many open files?): connections copy through user space; counted in edge_passthrough_copy_fallbacks_total, logged once")
	}
}

// logWarn logs msg at level Warn, if a logger was set.
func logWarn(msg string, attrs ...slog.Attr) {
	if l := logger.Load(); l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
	}
}
