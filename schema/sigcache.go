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
	return sigKeyDER(salt, child.Raw, parent.Raw)
}

// sigKeyDER is sigKey of the certificates whose DER are child and parent.
func sigKeyDER(salt [32]byte, child, parent []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("signature\x00"))
	h.Write(salt[:])
	h.Write(child)
	h.Write([]byte{0})
	h.Write(parent)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// sigChecks are the signature checks a load can skip: those the evaluation cache file
// holds done (disk) and those the load itself saw succeed (memo). A chain's issuers are
// shared by many sites (leaf, intermediate, root: the intermediate's signature by the root
// is the same check in every file), so at 10,000 sites such a check is made once, not
// 10,000 times. The zero value checks every signature.
type sigChecks struct {
	disk *sigCache // nil without a CacheDir
	memo *sigMemo  // nil: nothing remembered
}

// sigMemo is the signature checks one load saw succeed, keyed as in sigCache. It lives for
// one load, so it never grows across loads.
type sigMemo struct {
	mu sync.Mutex
	ok map[[32]byte]bool
}

func (m *sigMemo) has(k [32]byte) bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ok[k]
}

func (m *sigMemo) add(k [32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ok == nil {
		m.ok = map[[32]byte]bool{}
	}
	m.ok[k] = true
}

// check is child.CheckSignatureFrom(parent), skipped when the cache file or this load
// already holds it done. Only successes are remembered: a failing check is made again, so
// each file's problem is found the same way. A check against the cache file is recorded in
// cf (for the file written after the load).
func (c sigChecks) check(cf *certFacts, child, parent *x509.Certificate) error {
	if c.disk == nil && c.memo == nil {
		return child.CheckSignatureFrom(parent)
	}
	var salt [32]byte
	if c.disk != nil {
		salt = c.disk.salt
	}
	k := sigKey(salt, child, parent)
	if !c.disk.has(k) && !c.memo.has(k) {
		if h := testHookSigChecked; h != nil {
			h()
		}
		if err := child.CheckSignatureFrom(parent); err != nil {
			return err
		}
		if c.memo != nil {
			c.memo.add(k)
		}
	}
	if c.disk != nil {
		cf.sigKeys = append(cf.sigKeys, k)
	}
	return nil
}

// has reports whether the cache file holds k's check done; false for a nil sigCache.
func (s *sigCache) has(k [32]byte) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok[k]
}

// sigChecks returns the signature checks the running load can skip, remembering its own in
// memo.
func (l *Loader) sigChecks(memo *sigMemo) sigChecks {
	c := sigChecks{memo: memo}
	if l.disk != nil {
		c.disk = &l.disk.sigs
	}
	return c
}
