package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// SignaturePolicy accepts only commits carrying a valid OpenPGP signature made by one of a
// set of trusted keys. Build one with NewSignaturePolicy or LoadSignaturePolicy; it is
// immutable and safe for concurrent use.
type SignaturePolicy struct {
	keyring openpgp.EntityList
}

// SignatureReason says why a commit's signature was refused.
type SignatureReason string

// The reasons a SignatureError gives.
const (
	// SignatureMissing: the commit is not signed.
	SignatureMissing SignatureReason = "unsigned"
	// SignatureUnknownKey: signed, but by a key not in the trusted keyring.
	SignatureUnknownKey SignatureReason = "unknown key"
	// SignatureBad: the signature does not match the commit (altered commit or bad data).
	SignatureBad SignatureReason = "bad signature"
	// SignatureExpired: the signature or the signing key has expired or was revoked.
	SignatureExpired SignatureReason = "expired or revoked key"
	// SignatureUnsupported: not an OpenPGP signature (SSH or X.509), or several of them.
	SignatureUnsupported SignatureReason = "unsupported signature"
)

// SignatureError is returned when a commit is refused by a SignaturePolicy.
type SignatureError struct {
	// Commit is the refused commit's hash.
	Commit string
	// Reason is why it was refused.
	Reason SignatureReason
	// Detail is the verifier's message (or the signer key ID for SignatureUnknownKey).
	Detail string
}

func (e *SignatureError) Error() string {
	s := fmt.Sprintf("commit %s refused by the signature policy: %s", e.Commit, e.Reason)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// NewSignaturePolicy trusts the keys of an armored OpenPGP public keyring (one or more
// "-----BEGIN PGP PUBLIC KEY BLOCK-----" blocks, e.g. from `gpg --export --armor`).
func NewSignaturePolicy(armoredKeyRing []byte) (*SignaturePolicy, error) {
	var list openpgp.EntityList
	rest := armoredKeyRing
	for len(bytes.TrimSpace(rest)) > 0 {
		// ReadArmoredKeyRing reads one armor block; concatenated exports hold several.
		i := bytes.Index(rest, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
		if i < 0 {
			break
		}
		rest = rest[i:]
		end := bytes.Index(rest, []byte("-----END PGP PUBLIC KEY BLOCK-----"))
		if end < 0 {
			return nil, errors.New("reconcile: signature keyring: unterminated armor block")
		}
		end += len("-----END PGP PUBLIC KEY BLOCK-----")
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(rest[:end]))
		if err != nil {
			return nil, fmt.Errorf("reconcile: signature keyring: %w", err)
		}
		list = append(list, el...)
		rest = rest[end:]
	}
	if len(list) == 0 {
		return nil, errors.New("reconcile: signature keyring: no public key found (want an armored keyring)")
	}
	return &SignaturePolicy{keyring: list}, nil
}

// LoadSignaturePolicy reads an armored public keyring file (see NewSignaturePolicy).
func LoadSignaturePolicy(path string) (*SignaturePolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reconcile: signature keyring: %w", err)
	}
	p, err := NewSignaturePolicy(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return p, nil
}

// Keys describes the trusted keys, one "FINGERPRINT Name <email>" line each.
func (p *SignaturePolicy) Keys() []string {
	out := make([]string, 0, len(p.keyring))
	for _, e := range p.keyring {
		out = append(out, describeEntity(e))
	}
	return out
}

// describeEntity names a key: "FINGERPRINT Name <email>" with its primary user ID (the
// same one every time, whatever the number of user IDs).
func describeEntity(e *openpgp.Entity) string {
	s := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
	if id := e.PrimaryIdentity(); id != nil {
		s += " " + id.Name
	}
	return s
}

// verify returns the signer's description.
func (p *SignaturePolicy) verify(c *object.Commit) (string, error) {
	fail := func(r SignatureReason, detail string) (string, error) {
		return "", &SignatureError{Commit: c.Hash.String(), Reason: r, Detail: detail}
	}
	sig := c.PGPSignature
	switch {
	case strings.TrimSpace(sig) == "":
		return fail(SignatureMissing, "")
	case strings.Contains(sig, "-----BEGIN SSH SIGNATURE-----"):
		return fail(SignatureUnsupported, "an SSH signature; only OpenPGP signatures are accepted")
	case !strings.Contains(sig, "-----BEGIN PGP SIGNATURE-----"):
		return fail(SignatureUnsupported, "not an OpenPGP signature")
	case strings.Count(sig, "-----BEGIN PGP SIGNATURE-----") > 1:
		return fail(SignatureUnsupported, "several signatures")
	}
	signed := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(signed); err != nil {
		return fail(SignatureBad, err.Error())
	}
	r, err := signed.Reader()
	if err != nil {
		return fail(SignatureBad, err.Error())
	}
	defer r.Close()
	signer, err := openpgp.CheckArmoredDetachedSignature(p.keyring, r, strings.NewReader(sig), nil)
	if err != nil {
		var ke pgperrors.KeyInvalidError
		switch {
		case errors.Is(err, pgperrors.ErrUnknownIssuer):
			return fail(SignatureUnknownKey, "the signing key is not in the trusted keyring")
		case errors.Is(err, pgperrors.ErrSignatureExpired), errors.Is(err, pgperrors.ErrKeyExpired),
			errors.Is(err, pgperrors.ErrKeyRevoked), errors.As(err, &ke):
			return fail(SignatureExpired, err.Error())
		}
		return fail(SignatureBad, err.Error())
	}
	return describeEntity(signer), nil
}
