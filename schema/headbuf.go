package schema

import (
	"bytes"
	"sync"
)

// headBuffer keeps the first max bytes written to it: a worker's stderr, where the Go
// runtime says why it died.
type headBuffer struct {
	max int
	mu  sync.Mutex
	b   []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.max - len(h.b); n > 0 {
		h.b = append(h.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// outOfMemory reports whether the runtime said it ran out of memory.
func (h *headBuffer) outOfMemory() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Contains(h.b, []byte("out of memory")) || bytes.Contains(h.b, []byte("cannot allocate memory"))
}

// firstLine returns the first non-empty line written, without control characters.
func (h *headBuffer) firstLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range bytes.Split(h.b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			return string(bytes.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f {
					return -1
				}
				return r
			}, l))
		}
	}
	return ""
}
