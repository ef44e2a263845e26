package issue

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"time"
)

// worker looks after one site's certificate. Its fields past want are guarded by the
// Manager's mu.
type worker struct {
	want   Want
	ctx    context.Context
	cancel context.CancelFunc

	issuerChanged bool
	cert          *tls.Certificate
	rec           *Record // without its key
	renewAt       time.Time
	status        SiteStatus
}

func newWorker(w Want) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{want: w, ctx: ctx, cancel: cancel, status: SiteStatus{State: StateIssuing, Issuer: w.Issuer}}
}

func (w *worker) stop() { w.cancel() }

// run renews the site's certificate until the worker is stopped.
func (m *Manager) run(w *worker) {
	for {
		next := m.step(w.ctx, w)
		t := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-w.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// step does what is due for the site and returns when to look again.
func (m *Manager) step(ctx context.Context, w *worker) time.Time {
	now := time.Now()
	m.mu.Lock()
	have, renewAt := w.cert != nil, w.renewAt
	m.mu.Unlock()
	if have && now.Before(renewAt) {
		return renewAt
	}
	rec, err := m.opts.Store.ReadIssued(ctx, w.want.Site)
	if err != nil {
		return m.failed(w, "vault: "+err.Error(), now.Add(m.opts.Wait))
	}
	if m.adopt(w, rec, now) {
		return m.renewAt(w)
	}
	if m.opts.NoOrder {
		return m.waiting(w, LockState{Holder: "another agent (this one does not order)", Expires: now.Add(time.Hour)}, now)
	}
	return m.order(ctx, w, now)
}

func (m *Manager) renewAt(w *worker) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return w.renewAt
}

// adopt serves rec (if it is the site's, valid and new) and reports whether it is not
// due for renewal.
func (m *Manager) adopt(w *worker, rec *Record, now time.Time) bool {
	if rec == nil || !rec.Covers(w.want.Issuer, w.want.Names) || !now.Before(rec.NotAfter) {
		return false
	}
	m.mu.Lock()
	same := w.rec != nil && w.rec.Version == rec.Version
	m.mu.Unlock()
	if !same {
		cert, err := rec.Certificate()
		if err != nil {
			m.log.Warn("stored certificate unusable; ordering a new one", "site", w.want.Site, "err", err)
			return false
		}
		kept := *rec
		kept.KeyPEM = nil
		m.mu.Lock()
		w.cert, w.rec = &cert, &kept
		w.renewAt = jitteredRenewal(rec)
		m.mu.Unlock()
	}
	m.mu.Lock()
	due := !now.Before(w.renewAt)
	if !due {
		w.status = SiteStatus{State: StateIssued, Issuer: w.want.Issuer, RenewAt: w.renewAt, NotAfter: rec.NotAfter, Version: rec.Version}
	}
	m.mu.Unlock()
	if !same || !due {
		m.changed()
	}
	return !due
}

// jitteredRenewal is when to renew rec: the CA's ARI choice, else two thirds into its
// lifetime, minus a random part of up to a twentieth of the lifetime so sites (and agents)
// spread out.
func jitteredRenewal(rec *Record) time.Time {
	life := rec.NotAfter.Sub(rec.NotBefore)
	at := rec.RenewAfter
	if at.IsZero() || !at.Before(rec.NotAfter) {
		at = rec.NotBefore.Add(life * 2 / 3)
	}
	if j := life / 20; j > 0 {
		at = at.Add(-rand.N(j))
	}
	return at
}

// failed records a failure and returns next.
func (m *Manager) failed(w *worker, reason string, next time.Time) time.Time {
	m.setStatus(w, StateFailed, reason, next)
	return next
}

// setStatus sets the site's state (renewing instead of issuing or failed while a
// certificate is served), reason and next attempt, and reports a change of state or reason.
func (m *Manager) setStatus(w *worker, s State, reason string, next time.Time) {
	m.mu.Lock()
	st := w.status
	if w.cert != nil {
		s = StateRenewing
	}
	changed := st.State != s || st.Reason != reason
	st.State, st.Reason, st.NextAttempt = s, reason, next
	w.status = st
	m.mu.Unlock()
	if changed {
		m.changed()
	}
}

// waiting records that another agent orders, or the fleet's backoff runs, and returns
// next.
func (m *Manager) waiting(w *worker, ls LockState, now time.Time) time.Time {
	if ls.Holder != "" && now.Before(ls.Expires) {
		next := now.Add(m.opts.Wait)
		m.setStatus(w, StateIssuing, "ordered by "+ls.Holder, next)
		return next
	}
	next := ls.NotBefore.Add(rand.N(m.opts.Wait + 1))
	return m.failed(w, ls.Reason, next)
}

func (m *Manager) changed() {
	m.gen.Add(1)
	m.opts.OnChange()
}

// backoff is the wait after n failures in a row.
func (m *Manager) backoff(n int) time.Duration {
	d := m.opts.RetryBase
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// retryAt is when to try again after err, the n-th failure in a row.
func (m *Manager) retryAt(err error, n int, now time.Time) time.Time {
	at := now.Add(m.backoff(n))
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After.After(at) {
		at = ra.After
	}
	return at
}
