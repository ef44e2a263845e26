package fleet

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// tokenFile is a bearer token read from a file, read again when the file changes (the
// admin listener re-reads its own, so a rotated token reaches both sides without restarts).
type tokenFile struct {
	path string

	mu      sync.Mutex
	token   string
	modTime time.Time
	size    int64
}

// newTokenFile reads the token in path.
func newTokenFile(path string) (*tokenFile, error) {
	t := &tokenFile{path: path}
	if _, err := t.get(); err != nil {
		return nil, err
	}
	return t, nil
}

// get returns the token, read again if the file changed since the last read. When it can
// no longer be read, or is empty, the error says so (never with the token).
func (t *tokenFile) get() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("fleet: token: %w", err)
	}
	if t.token != "" && fi.ModTime().Equal(t.modTime) && fi.Size() == t.size {
		return t.token, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("fleet: token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("fleet: token: %s is empty", t.path)
	}
	t.token, t.modTime, t.size = tok, fi.ModTime(), fi.Size()
	return tok, nil
}
