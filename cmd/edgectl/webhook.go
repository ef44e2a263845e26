package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// defaultWebhookMaxBody is the largest webhook body webhookHandler reads when MaxBody is
// zero: 5 MiB (push payloads list commits; GitHub caps them at 25 MB but they are rarely
// over a few hundred KiB).
const defaultWebhookMaxBody = 5 << 20

// webhookHandler receives push notifications from the git host and asks for an immediate
// poll. Mount it on the admin listener, e.g. at /webhook/git.
//
// It accepts GitHub-style deliveries (also sent by Gitea, Forgejo and Gogs): a POST whose
// X-Hub-Signature-256 header is "sha256=" and the hex HMAC-SHA256 of the body under
// Secret; and GitLab deliveries, whose X-Gitlab-Token header equals Secret. Both are
// compared in constant time. A "push" event (GitLab: "Push Hook" or "Tag Push Hook") for
// the watched reference calls Trigger and answers 202; a ping, another event or another
// reference answers 200 and triggers nothing. A bad or missing signature answers 401, a
// body over MaxBody 413, a method other than POST 405. With no Secret the endpoint is
// disabled: every request gets 404.
//
// The handler does not poll itself: the poll (one ref request) tells what changed, so a
// forged or replayed delivery can at most cause one extra poll. Safe for concurrent use.
type webhookHandler struct {
	// Secret is the shared webhook secret. Empty disables the endpoint (404).
	Secret []byte
	// Ref returns the reference being followed ("main", "refs/heads/main", "v1"...); a
	// push to another reference is ignored. Nil, or an empty result (the remote's HEAD,
	// not known by name), means every push triggers a poll. gitsource.Source.Ref fits.
	Ref func() string
	// Trigger asks for a poll now. It must not block (Agent.Trigger does not). Required.
	Trigger func()
	// MaxBody bounds the body read. Zero means defaultWebhookMaxBody.
	MaxBody int64
	// Logger receives a line per delivery. Nil means slog.Default().
	Logger *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.Secret) == 0 {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	event, ok := h.authenticate(w, r, body, log)
	if !ok {
		return
	}
	switch event {
	case "ping":
		io.WriteString(w, "pong\n")
		return
	case "push":
	default:
		log.Debug("webhook: event ignored", "event", event)
		io.WriteString(w, "ignored: not a push event\n")
		return
	}
	var payload struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		http.Error(w, "push payload is not JSON", http.StatusBadRequest)
		return
	}
	if !h.watched(payload.Ref) {
		log.Debug("webhook: push to another ref ignored", "ref", payload.Ref)
		io.WriteString(w, "ignored: not the watched ref\n")
		return
	}
	log.Info("webhook: push, polling now", "ref", payload.Ref)
	h.Trigger()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "poll triggered\n")
}

// readBody reads the request body up to MaxBody; on failure it answers and returns false.
func (h *webhookHandler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	max := h.MaxBody
	if max <= 0 {
		max = defaultWebhookMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// authenticate checks the delivery's signature (GitHub style) or token (GitLab) and returns
// its event, GitLab's push events named "push"; on failure it answers 401 and returns
// false.
func (h *webhookHandler) authenticate(w http.ResponseWriter, r *http.Request, body []byte, log *slog.Logger) (string, bool) {
	switch {
	case r.Header.Get("X-Hub-Signature-256") != "":
		if !h.validHMAC(r.Header.Get("X-Hub-Signature-256"), body) {
			log.Warn("webhook: bad signature", "remote", r.RemoteAddr)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return "", false
		}
		return firstHeader(r, "X-GitHub-Event", "X-Gitea-Event", "X-Gogs-Event"), true
	case r.Header.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), h.Secret) != 1 {
			log.Warn("webhook: bad token", "remote", r.RemoteAddr)
			http.Error(w, "bad token", http.StatusUnauthorized)
			return "", false
		}
		switch e := r.Header.Get("X-Gitlab-Event"); e {
		case "Push Hook", "Tag Push Hook":
			return "push", true
		default:
			return e, true
		}
	}
	http.Error(w, "missing signature (X-Hub-Signature-256)", http.StatusUnauthorized)
	return "", false
}

// validHMAC checks a "sha256=<hex>" header against body.
func (h *webhookHandler) validHMAC(header string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, h.Secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// watched reports whether a push to ref concerns the followed reference.
func (h *webhookHandler) watched(ref string) bool {
	if h.Ref == nil {
		return true
	}
	want := h.Ref()
	if want == "" || want == "HEAD" {
		return true
	}
	if strings.HasPrefix(want, "refs/") {
		return ref == want
	}
	return ref == "refs/heads/"+want || ref == "refs/tags/"+want
}

func firstHeader(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := r.Header.Get(n); v != "" {
			return v
		}
	}
	return ""
}
