package issue

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"time"
)

// Config is one issuer declared in edge.cue (`issuers: <name>: {acme: {...}}` or
// `{vault_pki: {...}}`): exactly one of ACME and VaultPKI is set. schema fills it; the
// agent builds the Issuer from it (NewACME, or the Vault PKI issuer).
type Config struct {
	// Name is the issuer's name in edge.cue; sites refer to it with tls: {issuer: Name}.
	Name string
	// ACME is an ACME CA (RFC 8555).
	ACME *ACMEConfig
	// VaultPKI is Vault's PKI secrets engine.
	VaultPKI *VaultPKIConfig
}

// KeyType is the type of a certificate's private key.
type KeyType string

// Key types an issuer may declare. The default is ECDSAP256.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa2048"
	RSA4096   KeyType = "rsa4096"
)

// KeyTypes lists the valid key types, the default first.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, RSA2048, RSA4096}

// NewKey generates a private key of type kt (zero: ECDSAP256).
func NewKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", kt)
}

// SecretRef names one field of a Vault KV v2 secret: an EAB HMAC key, a TSIG secret.
type SecretRef struct {
	Mount string // KV v2 mount; default "secret"
	Path  string // below the mount
	Field string // field of the secret
}

// Challenge types.
const (
	HTTP01    = "http-01"
	TLSALPN01 = "tls-alpn-01"
	DNS01     = "dns-01"
)

// ACMEConfig is an ACME issuer.
type ACMEConfig struct {
	// Directory is the CA's directory URL (https).
	Directory string
	// Email is the account's contact address.
	Email string
	// EAB, when set, binds the account to an external account (CAs that need it).
	EAB *EAB
	// PreferredChain is the common name of the root (or intermediate) of the chain to
	// prefer when the CA offers several; empty: the CA's default chain.
	PreferredChain string
	// KeyType of the certificates' keys; default ECDSAP256.
	KeyType KeyType
	// Challenges are the challenge types to use, in order of preference; default
	// [http-01, tls-alpn-01].
	Challenges []string
	// DNS01 configures the dns-01 challenge (RFC 2136 updates); set when Challenges
	// holds dns-01.
	DNS01 *DNS01Config
}

// EAB is an External Account Binding: the key ID and where the HMAC key is in Vault.
type EAB struct {
	KID  string
	HMAC SecretRef
}

// DNS01Config answers dns-01 challenges with RFC 2136 dynamic updates signed with TSIG.
type DNS01Config struct {
	// Server is the primary authoritative server, "host:port".
	Server string
	// Zone to update; empty: the zone is found from the name (SOA lookup).
	Zone string
	// TSIG signs the updates.
	TSIG TSIG
}

// TSIG is a TSIG key: its name, algorithm (e.g. "hmac-sha256") and where its base64 secret
// is in Vault.
type TSIG struct {
	Name      string
	Algorithm string
	Secret    SecretRef
}

// VaultPKIConfig is Vault's PKI secrets engine: certificates signed by mount's role.
type VaultPKIConfig struct {
	// Mount of the PKI secrets engine, e.g. "pki".
	Mount string
	// Role the certificates are signed under (pki/sign/<role>).
	Role string
	// TTL asked for; zero: the role's.
	TTL time.Duration
	// KeyType of the certificates' keys; default ECDSAP256.
	KeyType KeyType
}

// KeyTypeOf is the key type an issuer's certificates get.
func (c Config) KeyTypeOf() KeyType {
	switch {
	case c.ACME != nil && c.ACME.KeyType != "":
		return c.ACME.KeyType
	case c.VaultPKI != nil && c.VaultPKI.KeyType != "":
		return c.VaultPKI.KeyType
	}
	return ECDSAP256
}

// Kind is "acme" or "vault_pki".
func (c Config) Kind() string {
	if c.VaultPKI != nil {
		return "vault_pki"
	}
	return "acme"
}

// Describe says what the issuer is, for plans and status: "acme https://... " or
// "vault_pki pki/role".
func (c Config) Describe() string {
	if c.VaultPKI != nil {
		return fmt.Sprintf("vault_pki mount %s, role %s", c.VaultPKI.Mount, c.VaultPKI.Role)
	}
	if c.ACME != nil {
		return "acme " + c.ACME.Directory
	}
	return "?"
}
