package issue

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/mholt/acmez/v3/acme"
)

// account returns the fleet's ACME account at this CA: its key is read from Vault (or made
// and stored there by the first agent, check-and-set, so the fleet shares one account) and
// registered with newAccount, which returns the existing account for a known key.
func (a *ACME) account(ctx context.Context) (*acme.Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.acct != nil {
		return a.acct, nil
	}
	key, err := a.accountKey(ctx)
	if err != nil {
		return nil, err
	}
	acct := acme.Account{PrivateKey: key, TermsOfServiceAgreed: true}
	if a.cfg.Email != "" {
		acct.Contact = []string{"mailto:" + a.cfg.Email}
	}
	if e := a.cfg.EAB; e != nil {
		if a.opts.EABKey == nil {
			return nil, errors.New("external account binding: no way to read its HMAC key")
		}
		mac, err := a.opts.EABKey(ctx, e.HMAC)
		if err != nil {
			return nil, fmt.Errorf("external account binding HMAC key: %w", err)
		}
		if err := acct.SetExternalAccountBinding(ctx, a.cl.Client, acme.EAB{KeyID: e.KID, MACKey: mac}); err != nil {
			return nil, fmt.Errorf("external account binding: %w", err)
		}
	}
	acct, err = a.cl.NewAccount(ctx, acct)
	if err != nil {
		return nil, fmt.Errorf("ACME account at %s: %w", a.cfg.Directory, err)
	}
	a.acct = &acct
	return a.acct, nil
}

// forgetAccount drops the cached account (the CA may have forgotten it).
func (a *ACME) forgetAccount() {
	a.mu.Lock()
	a.acct = nil
	a.mu.Unlock()
}

// accountKey reads the account key from Vault, or makes one and stores it; when another
// agent stores one first, that one is used.
func (a *ACME) accountKey(ctx context.Context) (crypto.Signer, error) {
	s := a.opts.Store
	for range 2 {
		d, ver, err := s.get(ctx, s.accountPath(a.name))
		if err != nil {
			return nil, err
		}
		if d != nil {
			return parseAccountKey(sField(d, "key"))
		}
		k, err := NewKey(ECDSAP256)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		p := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		_, err = s.put(ctx, s.accountPath(a.name), map[string]any{"key": p, "directory": a.cfg.Directory}, ver)
		if errors.Is(err, errCAS) {
			continue // another agent stored one: read it
		}
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	return nil, errors.New("ACME account key: lost the race to store it twice")
}

func parseAccountKey(p string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("ACME account key in vault is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, errors.New("ACME account key in vault does not parse")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("ACME account key in vault is not a signing key")
	}
	return s, nil
}
