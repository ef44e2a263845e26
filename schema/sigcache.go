package schema

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
)

// sigCache remembers, across processes (in the evaluation cache file), which certificates
// of a chain were checked to be signed by the next: at 10,000 sites checking the
// signatures is most of a warm start's certificate work. A check is keyed by the SHA-256 of
// both certificates' DER, so it holds for those bytes whatever file they are in.
type sigCache struct {
	salt [32]byte
	mu   sync.Mutex
	ok   map[[32]byte]bool // read from the file at the first load
}

// testHookSigChecked is called for each signature a sigCache checks.
var testHookSigChecked func()

// sigPayload is a signature record's payload in the cache file.
const sigPayload = "signed"

func sigKey(salt [32]byte, child, parent *x509.Certificate) [32]byte {
	h := sha256.New()
	h.Write([]byte("signature\x00"))
	h.Write(salt[:])
	h.Write(child.Raw)
	h.Write([]byte{0})
	h.Write(parent.Raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// check is child.CheckSignatureFrom(parent), skipped when the cache holds it done; a
// successful check is recorded in cf. A nil sigCache always checks.
func (s *sigCache) check(cf *certFacts, child, parent *x509.Certificate) error {
	if s == nil {
		return child.CheckSignatureFrom(parent)
	}
	k := sigKey(s.salt, child, parent)
	s.mu.Lock()
	ok := s.ok[k]
	s.mu.Unlock()
	if !ok {
		if h := testHookSigChecked; h != nil {
			h()
		}
		if err := child.CheckSignatureFrom(parent); err != nil {
			return err
		}
	}
	cf.sigKeys = append(cf.sigKeys, k)
	return nil
}

// sigCache returns the loader's signature cache, nil without a CacheDir.
func (l *Loader) sigCache() *sigCache {
	if l.disk == nil {
		return nil
	}
	return &l.disk.sigs
}
