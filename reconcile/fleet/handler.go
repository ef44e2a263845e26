package fleet

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// APIPath is where the admin listener serves the fleet summary for the page's fleet panel.
const APIPath = "/ui/api/fleet"

// Handler serves GET APIPath: the JSON Summary of its Checker against the newest commit
// served, cached for TTL so a page refreshing every second in many browsers asks each agent
// at most once per TTL.
type Handler struct {
	Checker *Checker
	// TTL is how long a summary is served before the fleet is asked again; 0: 5s.
	TTL    time.Duration
	Logger *slog.Logger

	mu   sync.Mutex // held while asking: viewers arriving meanwhile wait for that answer
	last []byte
	at   time.Time
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := h.summary(r.Context())
	if err != nil {
		http.Error(w, "fleet: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

// summary returns the cached summary, asking the fleet again when it is older than TTL.
func (h *Handler) summary(ctx context.Context) ([]byte, error) {
	ttl := h.TTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != nil && time.Since(h.at) < ttl {
		return h.last, nil
	}
	// The answer is shared: one viewer going away must not cut it short for the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s, err := h.Checker.Check(ctx, "")
	if err != nil {
		if h.Logger != nil {
			h.Logger.Warn("fleet status", "err", err)
		}
		return nil, err
	}
	body, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	h.last, h.at = body, time.Now()
	return body, nil
}
