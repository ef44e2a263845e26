package issue

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"
)

// order takes the site's lock and, holding it, orders a certificate, stores it and serves
// it. It returns when to look again.
func (m *Manager) order(ctx context.Context, w *worker, now time.Time) time.Time {
	st := m.opts.Store
	lock, ls, err := st.TryLock(ctx, w.want.Site, now)
	if errors.Is(err, ErrBusy) {
		return m.waiting(w, ls, now)
	}
	if err != nil {
		return m.failed(w, "vault: "+err.Error(), now.Add(m.opts.Wait))
	}
	// Another agent may have finished just before we took the lock.
	if rec, err := st.ReadIssued(ctx, w.want.Site); err == nil && m.adopt(w, rec, now) {
		_ = st.Unlock(ctx, lock, 0, time.Time{}, "")
		return m.renewAt(w)
	}
	m.mu.Lock()
	iss, ierr := m.issuers[w.want.Issuer], m.ierrs[w.want.Issuer]
	if w.cert != nil {
		w.status.State = StateRenewing
	}
	m.mu.Unlock()
	if iss == nil {
		if ierr == nil {
			ierr = errors.New("issuer " + w.want.Issuer + " is not declared")
		}
		_ = st.Unlock(ctx, lock, ls.Failures, time.Time{}, ierr.Error())
		return m.failed(w, ierr.Error(), now.Add(m.backoff(ls.Failures+1)))
	}
	rec, err := m.issue(ctx, w, iss, lock)
	if err != nil {
		n := ls.Failures + 1
		next := m.retryAt(err, n, time.Now())
		_ = st.Unlock(ctx, lock, n, next, err.Error())
		return m.failed(w, err.Error(), next)
	}
	_ = st.Unlock(ctx, lock, 0, time.Time{}, "")
	m.adopt(w, rec, time.Now())
	return m.renewAt(w)
}

// issue orders the certificate (within the lock's lifetime), stores it under the lock's
// fence and returns it. One log line per order says how it went.
func (m *Manager) issue(ctx context.Context, w *worker, iss Issuer, lock *Lock) (*Record, error) {
	start := time.Now()
	m.mu.Lock()
	kt := m.cfgs[w.want.Issuer].KeyTypeOf()
	renewal := w.cert != nil
	var replaces *x509.Certificate
	if renewal && w.rec != nil && w.rec.Issuer == w.want.Issuer {
		replaces = w.cert.Leaf
	}
	m.mu.Unlock()
	ttl := time.Until(lock.Expires)
	octx, cancel := context.WithDeadline(ctx, lock.Expires.Add(-ttl/10))
	defer cancel()
	m.metrics.attempts.WithLabelValues(w.want.Issuer).Inc()
	rec, err := m.obtain(octx, iss, Request{Names: w.want.Names, Replaces: replaces}, w.want, kt, lock)
	attrs := []any{"site", w.want.Site, "issuer", w.want.Issuer, "names", w.want.Names, "renewal", renewal,
		"fence", lock.Fence, "duration", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		m.metrics.failures.WithLabelValues(w.want.Issuer).Inc()
		m.log.Warn("certificate order failed", append(attrs, "err", err)...)
		return nil, err
	}
	m.log.Info("certificate issued", append(attrs, "not_after", rec.NotAfter, "version", rec.Version)...)
	return rec, nil
}

// obtain asks iss for req's certificate with a new key of type kt and stores it.
func (m *Manager) obtain(ctx context.Context, iss Issuer, req Request, want Want, kt KeyType, lock *Lock) (*Record, error) {
	key, err := NewKey(kt)
	if err != nil {
		return nil, err
	}
	req.Key = key
	got, err := iss.Issue(ctx, req)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		ChainPEM: got.ChainPEM, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		Issuer: want.Issuer, Names: want.Names, NotBefore: got.NotBefore, NotAfter: got.NotAfter, RenewAfter: got.RenewAfter,
	}
	v, err := m.opts.Store.WriteIssued(ctx, lock, *rec)
	if err != nil {
		return nil, err
	}
	rec.Version = v
	return rec, nil
}
