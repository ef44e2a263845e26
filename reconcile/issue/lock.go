package issue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Lock is a held lock on one site's issuance, fleet-wide. Its Fence is larger than every
// earlier holder's: a result written with it refuses to replace a result written with a
// larger one (a holder that outlived its lock cannot overwrite a newer certificate).
type Lock struct {
	Site    string
	Fence   int64
	Expires time.Time
	version int
}

// LockState is what a lock record says: who holds it until when, and the fleet's backoff
// for the name (failures in a row, no attempt before NotBefore, the last failure).
type LockState struct {
	Holder    string
	Expires   time.Time
	Fence     int64
	Failures  int
	NotBefore time.Time
	Reason    string
	version   int
}

// ErrBusy is returned by TryLock when another agent holds the lock or the fleet's backoff
// is not over; the LockState says which.
var ErrBusy = errors.New("busy")

// ErrFenced is returned by WriteIssued when a result with a newer fence is already stored.
var ErrFenced = errors.New("a newer certificate was stored by a later lock holder")

// TryLock takes site's lock for StoreOptions.LockTTL with KV v2 check-and-set: it fails
// with ErrBusy while an unexpired lock is held by another agent or before the lock's
// NotBefore, and when another agent took it first. The returned state is the lock record
// as read (also on ErrBusy).
func (s *Store) TryLock(ctx context.Context, site string, now time.Time) (*Lock, LockState, error) {
	d, ver, err := s.get(ctx, s.lockPath(site))
	if err != nil {
		return nil, LockState{}, err
	}
	st := lockState(d, ver)
	if st.Holder != "" && now.Before(st.Expires) || now.Before(st.NotBefore) {
		return nil, st, ErrBusy
	}
	l := &Lock{Site: site, Fence: st.Fence + 1, Expires: now.Add(s.opts.LockTTL)}
	data := lockData(LockState{Holder: s.opts.Holder, Expires: l.Expires, Fence: l.Fence, Failures: st.Failures, Reason: st.Reason})
	l.version, err = s.put(ctx, s.lockPath(site), data, ver)
	if errors.Is(err, errCAS) {
		return nil, st, ErrBusy
	}
	if err != nil {
		return nil, st, err
	}
	return l, st, nil
}

// Unlock releases l, recording the fleet's backoff: failures in a row (0 after a success),
// no attempt before notBefore, and the reason of the last failure.
func (s *Store) Unlock(ctx context.Context, l *Lock, failures int, notBefore time.Time, reason string) error {
	data := lockData(LockState{Fence: l.Fence, Failures: failures, NotBefore: notBefore, Reason: reason})
	_, err := s.put(ctx, s.lockPath(l.Site), data, l.version)
	if errors.Is(err, errCAS) {
		return nil // the lock expired and another agent took it: nothing of ours to release
	}
	if err != nil {
		return fmt.Errorf("release issuance lock of %s: %w", l.Site, err)
	}
	return nil
}

func lockState(d map[string]any, ver int) LockState {
	return LockState{
		Holder: sField(d, "holder"), Expires: tField(d, "expires"), Fence: iField(d, "fence"),
		Failures: int(iField(d, "failures")), NotBefore: tField(d, "not_before"), Reason: sField(d, "reason"),
		version: ver,
	}
}

func lockData(st LockState) map[string]any {
	return map[string]any{
		"holder": st.Holder, "expires": tString(st.Expires), "fence": strconv.FormatInt(st.Fence, 10),
		"failures": strconv.Itoa(st.Failures), "not_before": tString(st.NotBefore), "reason": st.Reason,
	}
}
