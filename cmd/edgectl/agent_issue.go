package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/reconcile/keysource"
)

// issueConfig configures the issued certificates (sites with tls: {issuer}).
type issueConfig struct {
	// Prefix is "<kv mount>/<path>" below which issued certificates, locks, challenges and
	// ACME accounts are kept (see issue.StoreOptions).
	Prefix string
	// LockTTL, Retry and Wait: issue.StoreOptions.LockTTL, ManagerOptions.RetryBase, .Wait.
	LockTTL, Retry, Wait time.Duration
	// ACMECAFile holds PEM CAs trusted for ACME directories' TLS in addition to none: when
	// set, only they are (a private ACME CA); empty: the system roots.
	ACMECAFile string
	// NoOrder: this agent never orders (issue.ManagerOptions.NoOrder).
	NoOrder bool
}

func (c *issueConfig) add(f *flag.FlagSet) {
	f.StringVar(&c.Prefix, "issue-vault-prefix", "secret/edge", "KV v2 mount and path below which issued certificates (issued/<site>), their locks (issue-locks/<site>), ACME challenges and accounts are kept in Vault [EDGE_ISSUE_VAULT_PREFIX]")
	f.DurationVar(&c.LockTTL, "issue-lock-ttl", 10*time.Minute, "how long one agent may hold a name's issuance lock; an order must finish within it, and a crashed holder blocks the name at most this long [EDGE_ISSUE_LOCK_TTL]")
	f.DurationVar(&c.Retry, "issue-retry", time.Minute, "first wait after a failed order, doubling up to 6h (and never before the CA's Retry-After) [EDGE_ISSUE_RETRY]")
	f.DurationVar(&c.Wait, "issue-wait", 5*time.Second, "how often an agent looks for the certificate another agent is ordering [EDGE_ISSUE_WAIT]")
	f.BoolFunc("issue-no-order", "never order certificates on this agent: serve those other agents store in Vault and answer their challenges [EDGE_ISSUE_NO_ORDER]", func(s string) error {
		b, err := strconv.ParseBool(s)
		c.NoOrder = b
		return err
	})
	f.StringVar(&c.ACMECAFile, "acme-ca-file", "", "PEM CAs trusted for the ACME directories' TLS instead of the system roots (a private ACME CA) [EDGE_ACME_CA_FILE]")
}

// newIssued returns the manager of issued certificates on the Vault key source, answering
// ACME challenges on srv, and what stops it; nil without Vault (sites asking for an issued
// certificate then fail with a clear error).
func newIssued(c agentConfig, keys keysource.Source, srv *edge.Server, log *slog.Logger, trigger *atomic.Pointer[reconcile.Agent]) (reconcile.IssuedCerts, func(), error) {
	vk, ok := keys.(*keysource.Vault)
	if !ok {
		return nil, func() {}, nil
	}
	mount, prefix, _ := strings.Cut(strings.Trim(c.Issue.Prefix, "/"), "/")
	store := issue.NewStore(vk, issue.StoreOptions{Mount: mount, Prefix: prefix, LockTTL: c.Issue.LockTTL})
	chals := issue.NewChallenges(store)
	var roots *x509.CertPool
	if c.Issue.ACMECAFile != "" {
		b, err := os.ReadFile(c.Issue.ACMECAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--acme-ca-file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return nil, nil, fmt.Errorf("--acme-ca-file %s: no PEM certificate", c.Issue.ACMECAFile)
		}
	}
	m := issue.NewManager(issue.ManagerOptions{
		Store: store, Challenges: chals, Wait: c.Issue.Wait, NoOrder: c.Issue.NoOrder, RetryBase: c.Issue.Retry, Logger: log, Registerer: srv.Registry(),
		OnChange: func() {
			if a := trigger.Load(); a != nil {
				a.Trigger()
			}
		},
		Build: func(cfg issue.Config) (issue.Issuer, error) { return buildIssuer(cfg, store, chals, vk, roots, log) },
	})
	srv.SetChallenges(chals)
	return m, m.Close, nil
}

// buildIssuer makes the Issuer of a declared issuer.
func buildIssuer(cfg issue.Config, store *issue.Store, chals *issue.Challenges, vk *keysource.Vault, roots *x509.CertPool, log *slog.Logger) (issue.Issuer, error) {
	if p := cfg.VaultPKI; p != nil {
		return issue.NewVaultPKI(nil, cfg.Name, p.Mount, p.Role, issue.VaultPKITTL(p.TTL), issue.VaultPKIDo(vk.Do)), nil
	}
	return issue.NewACME(cfg.Name, *cfg.ACME, issue.ACMEOptions{
		Store: store, Challenges: chals, Roots: roots, Logger: log,
		DNS01:  func(c issue.DNS01Config) (issue.DNS01Solver, error) { return newDNS01Solver(c, store) },
		EABKey: func(ctx context.Context, ref issue.SecretRef) (string, error) { return store.ReadSecret(ctx, ref) },
	})
}

// newDNS01Solver answers dns-01 challenges with RFC 2136 updates to c's server, signed
// with the TSIG key whose secret is read from Vault (through store) at each update.
func newDNS01Solver(c issue.DNS01Config, store *issue.Store) (issue.DNS01Solver, error) {
	return issue.NewRFC2136Solver(issue.RFC2136Config{
		Server: c.Server, Zone: c.Zone, TSIGName: c.TSIG.Name, TSIGAlgorithm: c.TSIG.Algorithm,
		TSIGSecretFunc: func(ctx context.Context) ([]byte, error) {
			s, err := store.ReadSecret(ctx, c.TSIG.Secret)
			if err != nil {
				return nil, err
			}
			return issue.DecodeTSIGSecret(s)
		},
	})
}
