package issue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Record is a site's issued certificate as stored in Vault (Store.IssuedPath).
type Record struct {
	// ChainPEM is the chain, leaf first.
	ChainPEM []byte
	// KeyPEM is the private key (PKCS#8 PEM). Secret.
	KeyPEM []byte
	// Fence is the fence of the lock it was written under.
	Fence int64
	// Issuer is the declared issuer's name; Names the certificate's names.
	Issuer string
	Names  []string
	// NotAfter is the leaf's expiry; RenewAfter when renewal is due (before jitter).
	NotBefore, NotAfter, RenewAfter time.Time
	// Version is the KV v2 version it was read at or written as.
	Version int
}

// Certificate parses the record into what the data plane serves, checking that the key
// matches the leaf.
func (r *Record) Certificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(r.ChainPEM, r.KeyPEM)
	if err != nil {
		return tls.Certificate{}, errors.New("stored chain and key do not form a certificate (" + cleanTLSErr(err) + ")")
	}
	return c, nil
}

// cleanTLSErr keeps crypto/tls's message but never key bytes (it never includes them).
func cleanTLSErr(err error) string { return strings.TrimPrefix(err.Error(), "tls: ") }

// Covers reports whether the record is for exactly these names from this issuer.
func (r *Record) Covers(issuer string, names []string) bool {
	a, b := slices.Clone(r.Names), slices.Clone(names)
	slices.Sort(a)
	slices.Sort(b)
	return r.Issuer == issuer && slices.Equal(a, b)
}

// ReadIssued reads site's issued certificate; nil, nil when there is none.
func (s *Store) ReadIssued(ctx context.Context, site string) (*Record, error) {
	d, ver, err := s.get(ctx, s.IssuedPath(site))
	if err != nil || d == nil {
		return nil, err
	}
	r := &Record{
		ChainPEM: []byte(sField(d, "chain")), KeyPEM: []byte(sField(d, "key")), Fence: iField(d, "fence"),
		Issuer: sField(d, "issuer"), NotBefore: tField(d, "not_before"), NotAfter: tField(d, "not_after"),
		RenewAfter: tField(d, "renew_after"), Version: ver,
	}
	if n := sField(d, "names"); n != "" {
		r.Names = strings.Split(n, ",")
	}
	return r, nil
}

// WriteIssued stores rec as site's certificate under lock l: refused with ErrFenced when
// the stored record has a larger fence, and written with check-and-set on the version read.
// It returns the new version.
func (s *Store) WriteIssued(ctx context.Context, l *Lock, rec Record) (int, error) {
	path := s.IssuedPath(l.Site)
	d, ver, err := s.get(ctx, path)
	if err != nil {
		return 0, err
	}
	if d != nil && iField(d, "fence") > l.Fence {
		return 0, fmt.Errorf("store certificate of %s (fence %d, stored %d): %w", l.Site, l.Fence, iField(d, "fence"), ErrFenced)
	}
	data := map[string]any{
		"chain": string(rec.ChainPEM), "key": string(rec.KeyPEM), "fence": strconv.FormatInt(l.Fence, 10),
		"issuer": rec.Issuer, "names": strings.Join(rec.Names, ","), "not_before": tString(rec.NotBefore),
		"not_after": tString(rec.NotAfter), "renew_after": tString(rec.RenewAfter),
	}
	v, err := s.put(ctx, path, data, ver)
	if errors.Is(err, errCAS) {
		return 0, fmt.Errorf("store certificate of %s: %w", l.Site, err)
	}
	return v, err
}
