package schema

import "sync"

// maxPrechecked and maxPrecheckedBytes bound the chains PrecheckCert keeps for the next
// load, and their DER bytes: what it keeps stays until a load takes it, also when the
// fetched commit is refused (a hostile repo), and is only a head start.
const (
	maxPrechecked      = 1 << 17
	maxPrecheckedBytes = 64 << 20
)

// precheck is what PrecheckCert did ahead of the next load: the certificate chain files it
// found without problems, by content ID. A load takes them at its start; offers made while
// it runs are refused.
type precheck struct {
	mu      sync.Mutex
	loading bool                    // a load runs: PrecheckCert refuses
	facts   map[[32]byte]*certFacts // by content ID (hashFSID); sigKeys not set
	bytes   int                     // the DER bytes of facts
	memo    *sigMemo                // the signature checks made since the last take
}

// PrecheckCert parses and checks the certificate chain file whose content is b, as the
// next load would when it reads that content from a HashFS giving it hash, on the caller's
// goroutine: that load then takes the result rather than do the work (most of a cold
// start's certificate work is the signature checks, at 10,000 sites about 0.7 s of CPU).
// The agent calls it with the certificates of a pack still being fetched, on a core the
// fetch leaves idle. Only chains without problems are kept (a file with problems is checked
// again by the load, which reports them); what is kept is dropped by the next load whether
// it reads the file or not. It returns false while a load runs, or once it keeps as much
// as it may: the caller should stop offering until that load has returned.
func (l *Loader) PrecheckCert(hash, b []byte) bool {
	p := &l.pre
	p.mu.Lock()
	if p.loading || p.full() {
		p.mu.Unlock()
		return false
	}
	if p.memo == nil {
		p.memo = &sigMemo{}
	}
	memo := p.memo
	p.mu.Unlock()
	cf := parseCertChainWith(b, sigChecks{memo: memo})
	if len(cf.problems) > 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loading {
		return false
	}
	if p.facts == nil {
		p.facts = map[[32]byte]*certFacts{}
	}
	if p.full() {
		return false
	}
	id := hashFSID(hash)
	if p.facts[id] == nil {
		p.facts[id] = cf
		for _, d := range cf.der {
			p.bytes += len(d)
		}
	}
	return true
}

// full reports whether p keeps as much as it may (p.mu held).
func (p *precheck) full() bool {
	return len(p.facts) >= maxPrechecked || p.bytes >= maxPrecheckedBytes
}

// take starts a load: it returns the chains checked ahead of it and refuses offers until
// done.
func (p *precheck) take() map[[32]byte]*certFacts {
	p.mu.Lock()
	defer p.mu.Unlock()
	facts := p.facts
	p.facts, p.bytes, p.memo, p.loading = nil, 0, nil, true
	return facts
}

// done ends the load take started.
func (p *precheck) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loading = false
}

// prechecked returns the facts of the certificate file with content ID id if PrecheckCert
// made them ahead of the running load, with the signature checks for the evaluation cache
// set as parseCertChainWith would; nil if not.
func (l *Loader) prechecked(id [32]byte) *certFacts {
	cf := l.preFacts[id] // read-only while the load runs
	if cf == nil || l.disk == nil {
		return cf
	}
	out := *cf
	out.sigKeys = make([][32]byte, 0, max(len(cf.der)-1, 0))
	for i := 0; i+1 < len(cf.der); i++ {
		out.sigKeys = append(out.sigKeys, sigKeyDER(l.disk.sigs.salt, cf.der[i], cf.der[i+1]))
	}
	return &out
}
