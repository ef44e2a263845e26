package issue

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mholt/acmez/v3/acme"
	"github.com/miekg/dns"
)

// RFC2136Config says where and how the DNS-01 solver publishes challenge records: RFC 2136
// dynamic updates, signed with TSIG, sent to the zone's primary server.
type RFC2136Config struct {
	// Server is the primary's host:port (port 53 when omitted), which accepts the signed
	// updates and is polled until the record is visible.
	Server string
	// Zone is the zone the records go in, e.g. "example.com"; every name solved must be in
	// it (its _acme-challenge record, that is). Empty: the zone whose SOA Server gives
	// for the record's name.
	Zone string
	// TSIGName is the TSIG key's name, e.g. "edge-acme".
	TSIGName string
	// TSIGAlgorithm is the TSIG algorithm: hmac-sha256 (default), hmac-sha384, hmac-sha512,
	// hmac-sha224 or hmac-sha1.
	TSIGAlgorithm string
	// TSIGSecret is the key's raw secret (DecodeTSIGSecret turns the base64 text servers
	// print into it). It is never logged or put in an error.
	TSIGSecret []byte
	// TSIGSecretFunc, when TSIGSecret is empty, returns it at each update (e.g. read from
	// Vault with TSIGSecretFromVault), so a rotated secret takes effect at once and
	// the solver can be built while Vault is away.
	TSIGSecretFunc func(ctx context.Context) ([]byte, error)
	// TTL is the challenge record's TTL. Zero means 60s.
	TTL time.Duration
	// Timeout bounds each exchange with the server. Zero means 10s.
	Timeout time.Duration
	// PropagationTimeout bounds Wait, the polling of Server until the record is visible.
	// Zero means 2 minutes.
	PropagationTimeout time.Duration
}

// DecodeTSIGSecret decodes a TSIG secret as servers and tools write it (base64, as in
// knot's config, `keymgr -t` or BIND's `tsig-keygen`). The error never shows the secret.
func DecodeTSIGSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) == 0 {
		return nil, errors.New("TSIG secret is not base64")
	}
	return b, nil
}

// RFC2136Solver is an acmez.Solver for DNS-01 challenges: Present adds the TXT record
// _acme-challenge.<name> with a TSIG-signed RFC 2136 update, Wait polls the server until it
// answers with it, CleanUp removes exactly that record (other values of the same name, e.g.
// the wildcard's and the bare name's, stay).
type RFC2136Solver struct {
	cfg  RFC2136Config
	zone string // fully qualified
	key  string // TSIG key name, fully qualified
	alg  string // fully qualified algorithm name
}

// NewRFC2136Solver checks cfg and returns its solver.
func NewRFC2136Solver(cfg RFC2136Config) (*RFC2136Solver, error) {
	if cfg.Server == "" || cfg.TSIGName == "" || (len(cfg.TSIGSecret) == 0 && cfg.TSIGSecretFunc == nil) {
		return nil, errors.New("dns-01: server, TSIG key name and secret are all needed")
	}
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		cfg.Server = net.JoinHostPort(cfg.Server, "53")
	}
	alg, ok := tsigAlgorithms[strings.ToLower(strings.TrimSuffix(cmp.Or(cfg.TSIGAlgorithm, "hmac-sha256"), "."))]
	if !ok {
		return nil, fmt.Errorf("dns-01: TSIG algorithm %q: want hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224 or hmac-sha1", cfg.TSIGAlgorithm)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.PropagationTimeout <= 0 {
		cfg.PropagationTimeout = 2 * time.Minute
	}
	zone := ""
	if cfg.Zone != "" {
		zone = dns.Fqdn(strings.ToLower(cfg.Zone))
	}
	return &RFC2136Solver{cfg: cfg, zone: zone, key: dns.Fqdn(strings.ToLower(cfg.TSIGName)), alg: alg}, nil
}

var tsigAlgorithms = map[string]string{
	"hmac-sha1": dns.HmacSHA1, "hmac-sha224": dns.HmacSHA224, "hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384, "hmac-sha512": dns.HmacSHA512,
}

// Present adds the challenge's TXT record.
func (s *RFC2136Solver) Present(ctx context.Context, ch acme.Challenge) error {
	return s.change(ctx, ch, "add", (*dns.Msg).Insert)
}

// CleanUp removes the challenge's TXT record (that value only).
func (s *RFC2136Solver) CleanUp(ctx context.Context, ch acme.Challenge) error {
	return s.change(ctx, ch, "remove", (*dns.Msg).Remove)
}

// change sends one dynamic update of the challenge's zone: op (Msg.Insert or Msg.Remove)
// applied to its TXT record. verb names the change in errors.
func (s *RFC2136Solver) change(ctx context.Context, ch acme.Challenge, verb string, op func(*dns.Msg, []dns.RR)) error {
	rr := s.record(ch)
	zone, err := s.zoneOf(ctx, ch, rr.Hdr.Name)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(zone)
	op(m, []dns.RR{rr})
	if err := s.update(ctx, m); err != nil {
		return fmt.Errorf("dns-01 %s: %s TXT %s: %w", ch.Identifier.Value, verb, rr.Header().Name, err)
	}
	return nil
}

// record is the challenge's TXT record.
func (s *RFC2136Solver) record(ch acme.Challenge) *dns.TXT {
	return &dns.TXT{
		Hdr: dns.RR_Header{Name: dns.Fqdn(strings.ToLower(ch.DNS01TXTRecordName())), Rrtype: dns.TypeTXT,
			Class: dns.ClassINET, Ttl: uint32(s.cfg.TTL / time.Second)},
		Txt: []string{ch.DNS01KeyAuthorization()},
	}
}

// zoneOf is the zone name goes in: the configured one, which must hold it, or the one whose
// SOA the server gives for name.
func (s *RFC2136Solver) zoneOf(ctx context.Context, ch acme.Challenge, name string) (string, error) {
	if s.zone != "" {
		if !dns.IsSubDomain(s.zone, name) {
			return "", fmt.Errorf("dns-01 %s: %s is not in zone %s", ch.Identifier.Value, name, s.zone)
		}
		return s.zone, nil
	}
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeSOA)
	q.RecursionDesired = false
	r, _, err := (&dns.Client{Net: "tcp", Timeout: s.cfg.Timeout}).ExchangeContext(ctx, q, s.cfg.Server)
	if err != nil {
		return "", fmt.Errorf("dns-01 %s: find the zone of %s at %s: %w", ch.Identifier.Value, name, s.cfg.Server, err)
	}
	for _, rr := range append(r.Answer, r.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(soa.Hdr.Name, name) {
			return strings.ToLower(soa.Hdr.Name), nil
		}
	}
	return "", fmt.Errorf("dns-01 %s: %s serves no zone holding %s (%s)", ch.Identifier.Value, s.cfg.Server, name, dns.RcodeToString[r.Rcode])
}

// update sends m, signed, over TCP and checks the server applied it.
func (s *RFC2136Solver) update(ctx context.Context, m *dns.Msg) error {
	secret := s.cfg.TSIGSecret
	if len(secret) == 0 {
		var err error
		if secret, err = s.cfg.TSIGSecretFunc(ctx); err != nil {
			return fmt.Errorf("TSIG key %s: %w", s.cfg.TSIGName, err)
		}
	}
	m.SetTsig(s.key, s.alg, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: s.cfg.Timeout,
		TsigSecret: map[string]string{s.key: base64.StdEncoding.EncodeToString(secret)}}
	r, _, err := c.ExchangeContext(ctx, m, s.cfg.Server)
	if r != nil && r.Rcode != dns.RcodeSuccess { // a refusal's unverifiable TSIG is no news
		why := dns.RcodeToString[r.Rcode]
		if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			why += " (TSIG " + dns.RcodeToString[int(t.Error)] + ")"
		}
		return fmt.Errorf("server %s refused the update: %s", s.cfg.Server, why)
	}
	if err != nil {
		return fmt.Errorf("server %s: %w", s.cfg.Server, err)
	}
	return nil
}

// Wait polls the server until it answers the challenge's TXT record, for at most
// PropagationTimeout. Only the primary is asked: secondaries the CA may reach are assumed to
// follow it within the CA's own retries.
func (s *RFC2136Solver) Wait(ctx context.Context, ch acme.Challenge) error {
	rr := s.record(ch)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PropagationTimeout)
	defer cancel()
	var last error
	for {
		if last = s.visible(ctx, rr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dns-01 %s: TXT %s not visible at %s: %w", ch.Identifier.Value, rr.Hdr.Name, s.cfg.Server, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// visible asks the server for rr's name and says whether rr's value is among the answers.
func (s *RFC2136Solver) visible(ctx context.Context, rr *dns.TXT) error {
	q := new(dns.Msg)
	q.SetQuestion(rr.Hdr.Name, dns.TypeTXT)
	q.RecursionDesired = false
	c := &dns.Client{Net: "tcp", Timeout: s.cfg.Timeout}
	r, _, err := c.ExchangeContext(ctx, q, s.cfg.Server)
	if err != nil {
		return err
	}
	for _, a := range r.Answer {
		if t, ok := a.(*dns.TXT); ok && slices.Equal(t.Txt, rr.Txt) {
			return nil
		}
	}
	return fmt.Errorf("no such TXT value yet (%s)", dns.RcodeToString[r.Rcode])
}
