package schema

import (
	"crypto/sha256"
	"crypto/x509"
	"runtime"
	"sync"
	"weak"
)

// issuers shares the parsed issuer certificates of every chain loaded in the process.
var issuers = &certInterner{m: make(map[[32]byte]weak.Pointer[x509.Certificate])}

// certInterner parses a DER certificate once while it is in use: the chains of many sites
// repeat the same issuers (a CA's intermediate), and 10,000 sites must not mean 10,000
// parsed copies of it. Entries hold weak pointers, so a certificate no chain uses any more
// is collected, and a cleanup then removes its entry. Parsed certificates are never
// modified.
type certInterner struct {
	mu sync.Mutex
	m  map[[32]byte]weak.Pointer[x509.Certificate]
}

// parse returns the parsed certificate of der, shared with earlier callers when possible.
func (ci *certInterner) parse(der []byte) (*x509.Certificate, error) {
	h := sha256.Sum256(der)
	ci.mu.Lock()
	if c := ci.m[h].Value(); c != nil {
		ci.mu.Unlock()
		return c, nil
	}
	ci.mu.Unlock()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if prev := ci.m[h].Value(); prev != nil {
		return prev, nil // parsed meanwhile by another loader worker
	}
	ci.m[h] = weak.Make(c)
	runtime.AddCleanup(c, ci.forget, h)
	return c, nil
}

// forget removes the entry of h if its certificate was collected (a newer parse of the same
// DER may have replaced it meanwhile).
func (ci *certInterner) forget(h [32]byte) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if wp, ok := ci.m[h]; ok && wp.Value() == nil {
		delete(ci.m, h)
	}
}

// size returns the number of entries, live or not yet cleaned up.
func (ci *certInterner) size() int {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	return len(ci.m)
}
