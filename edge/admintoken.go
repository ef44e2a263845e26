package edge

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// minTokenLen is the token length below which the server warns: 16 characters of
// `openssl rand -hex 32` are 64 bits.
const minTokenLen = 16

// maxTokenFile bounds what is read of a token file.
const maxTokenFile = 4096

// errNoToken is why a request is refused while the token file cannot be used; it never
// reaches a client.
var errNoToken = errors.New("admin token file unusable")

// tokenFile is the admin bearer token, kept as the SHA-256 of the file's content so that
// comparisons take the same time whatever the lengths, and re-read when the file changes:
// every check stats the file (one syscall) and reads it again when its size, modification
// time or identity (inode: a rename or a Kubernetes secret update) changed. A file that
// becomes missing, empty or malformed refuses every request until it is fixed (fail
// closed); the reason is logged once per change, never the content.
type tokenFile struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	info fs.FileInfo // of the content in sum; nil before the first load
	sum  [sha256.Size]byte
	err  error // why the current content is unusable; nil when sum holds a token
}

// newTokenFile reads the token at path, refusing a missing, empty or malformed file. A file
// readable by others is accepted with a warning.
func newTokenFile(path string, log *slog.Logger) (*tokenFile, error) {
	t := &tokenFile{path: path, log: log}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("admin token file: %w", err)
	}
	if err := t.load(info); err != nil {
		return nil, err
	}
	return t, nil
}

// load reads the file whose stat is info into t (t.mu held or t not shared yet).
func (t *tokenFile) load(info fs.FileInfo) error {
	t.info = info
	tok, err := readToken(t.path)
	if err != nil {
		t.err = err
		return err
	}
	if info.Mode().Perm()&0o007 != 0 {
		t.log.Warn("admin token file is readable by other users: chmod o-rwx it", "file", t.path, "mode", info.Mode().Perm().String())
	}
	if len(tok) < minTokenLen {
		t.log.Warn("admin token is short: use at least 16 random characters (openssl rand -hex 32)", "file", t.path, "length", len(tok))
	}
	t.sum, t.err = sha256.Sum256([]byte(tok)), nil
	return nil
}

// readToken returns the token in the file at path: its content less one trailing newline
// (LF or CRLF), which must be non-empty visible ASCII without spaces (what a Bearer
// credential can carry). Errors never quote the content.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("admin token file %s is over %d bytes: want one token", path, maxTokenFile)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", fmt.Errorf("admin token file %s: the token has a space, a control character, a second line or non-ASCII at byte %d: want one line of visible ASCII", path, i+1)
		}
	}
	return s, nil
}

// current returns the token's digest, re-reading the file if it changed since the last
// read; errNoToken (logged) when it is unusable.
func (t *tokenFile) current() ([sha256.Size]byte, error) {
	info, statErr := os.Stat(t.path)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case statErr != nil:
		if t.info != nil || t.err == nil {
			t.log.Error("admin token file unreadable: refusing admin requests until it is back", "file", t.path, "err", statErr)
		}
		t.info, t.err = nil, statErr
	case t.info == nil || !sameContent(t.info, info):
		before := t.err
		if err := t.load(info); err != nil {
			t.log.Error("admin token file unusable: refusing admin requests until it is fixed", "err", err)
		} else if before != nil {
			t.log.Info("admin token file usable again", "file", t.path)
		} else {
			t.log.Info("admin token reloaded", "file", t.path)
		}
	}
	if t.err != nil {
		return [sha256.Size]byte{}, errNoToken
	}
	return t.sum, nil
}

// sameContent reports whether two stats of a path are of the same unchanged file.
func sameContent(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// check reports whether got, a presented token, is the current token, in time independent
// of got's content and length.
func (t *tokenFile) check(got string) bool {
	want, err := t.current()
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}
