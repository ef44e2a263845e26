package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testca"
)

// PebbleVersion is the Pebble release tests/pebble builds; keep it equal to the version in
// tests/pebble/go.mod.
const PebbleVersion = "v2.10.3"

var (
	pebbleTool    = cachedTool{what: "Pebble", name: "pebble-" + PebbleVersion, module: "pebble", pkg: "github.com/letsencrypt/pebble/v2/cmd/pebble"}
	challSrvTool  = cachedTool{what: "pebble-challtestsrv", name: "pebble-challtestsrv-" + PebbleVersion, module: "pebble", pkg: "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"}
	issuedLineRE  = regexp.MustCompile(`Issued certificate serial ([0-9a-f]+) for order`)
	orderAddedMsg = "Added order "
)

// PebbleOptions configures StartPebble. The zero value is a Pebble that validates HTTP-01
// on port 5002 and TLS-ALPN-01 on port 5001 of 127.0.0.1 for every name, issuing 90-day
// certificates.
type PebbleOptions struct {
	// DNSServer is the resolver Pebble asks for A/AAAA (HTTP-01, TLS-ALPN-01) and TXT
	// (DNS-01) records (Pebble's -dnsserver), e.g. a knotd's "127.0.0.1:5353". Empty: a
	// pebble-challtestsrv is started as resolver, answering every A query with DefaultIPv4
	// and no AAAA; Pebble.SetA and Pebble.SetDefaultIPv4 change its answers.
	DNSServer string
	// DefaultIPv4 is the address the started resolver gives every name (when DNSServer is
	// empty). Empty: 127.0.0.1.
	DefaultIPv4 string
	// HTTPPort is the port Pebble connects to for HTTP-01 (its config's httpPort); 0: 5002.
	HTTPPort int
	// TLSPort is the port Pebble connects to for TLS-ALPN-01 (its config's tlsPort); 0: 5001.
	TLSPort int
	// Validity is the lifetime of the certificates Pebble issues (its default profile's
	// validityPeriod, whole seconds); 0: 90 days.
	Validity time.Duration
	// EABKeys, when not empty, requires External Account Binding: key ID → base64url HMAC key.
	EABKeys map[string]string
	// AlwaysValid skips real validation (PEBBLE_VA_ALWAYS_VALID=1). Off by default: Pebble
	// really connects to the listeners.
	AlwaysValid bool
}

// Pebble is a real Pebble ACME CA (github.com/letsencrypt/pebble/v2, PebbleVersion) on
// loopback ports, run by StartPebble and stopped when the test ends. It keeps everything in
// memory: after Restart it has new roots, no accounts, no orders.
//
// It is run with PEBBLE_VA_NOSLEEP=1 (validation at once), PEBBLE_WFE_NONCEREJECT=0 (no
// random badNonce) and PEBBLE_AUTHZREUSE=0 (every order needs its challenges answered).
type Pebble struct {
	// DirectoryURL is the ACME directory, e.g. "https://127.0.0.1:40123/dir".
	DirectoryURL string
	// TLSPool trusts the certificate of Pebble's ACME and management listeners (a testca
	// root): what an ACME client needs to talk to DirectoryURL.
	TLSPool *x509.CertPool
	// TLSCAFile is that root in a PEM file (e.g. for edgectl agent --acme-ca-file).
	TLSCAFile string

	opts    PebbleOptions
	bin     string
	dir     string
	cfgPath string
	mgmt    string // management API base URL
	chall   string // challtestsrv management base URL, "" with an external DNSServer
	dns     string // resolver address given to Pebble

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *SyncBuffer

	seenMu sync.Mutex
	seen   map[string][]string // serial → DNS names of certificates already read back
}

// StartPebble builds (once, cached like VaultBinary) and runs Pebble with opts, waits until
// its directory answers, and stops it on t.Cleanup. On failure Pebble's output is in the test
// log. Pebble reaches HTTP-01 and TLS-ALPN-01 challenges at <the name's resolved
// address>:HTTPPort and :TLSPort.
func StartPebble(t testing.TB, opts PebbleOptions) *Pebble {
	t.Helper()
	p := &Pebble{opts: opts, bin: pebbleTool.get(t), dir: t.TempDir()}
	if opts.DNSServer == "" {
		p.startChallSrv(t)
	} else {
		p.dns = opts.DNSServer
	}
	pool := p.writeTLS(t)
	acmePort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	mgmtPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p.writeConfig(t, acmePort, mgmtPort)
	p.DirectoryURL = fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort)
	p.mgmt = fmt.Sprintf("https://127.0.0.1:%d", mgmtPort)
	p.TLSPool = pool
	p.out = &SyncBuffer{}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("pebble output:\n%s", p.out.String())
		}
	})
	if err := p.start(); err != nil {
		t.Fatalf("testenv: start pebble: %v\n%s", err, p.out.String())
	}
	return p
}

// writeTLS issues Pebble's listener certificate for 127.0.0.1 and localhost from a fresh
// testca and returns a pool trusting it.
func (p *Pebble) writeTLS(t testing.TB) *x509.CertPool {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"127.0.0.1", "localhost"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "cert.pem"), leaf.ChainPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "key.pem"), leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	p.TLSCAFile = filepath.Join(p.dir, "tls-ca.pem")
	if err := os.WriteFile(p.TLSCAFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca.Pool()
}

// writeConfig writes Pebble's JSON config.
func (p *Pebble) writeConfig(t testing.TB, acmePort, mgmtPort int) {
	t.Helper()
	o := p.opts
	httpPort, tlsPort := o.HTTPPort, o.TLSPort
	if httpPort == 0 {
		httpPort = 5002
	}
	if tlsPort == 0 {
		tlsPort = 5001
	}
	validity := uint64(o.Validity / time.Second)
	if validity == 0 {
		validity = 90 * 24 * 3600
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":                    filepath.Join(p.dir, "cert.pem"),
		"privateKey":                     filepath.Join(p.dir, "key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"externalAccountBindingRequired": len(o.EABKeys) > 0,
		"externalAccountMACKeys":         o.EABKeys,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "edge tests", "validityPeriod": validity,
		}},
	}}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	p.cfgPath = filepath.Join(p.dir, "pebble.json")
	if err := os.WriteFile(p.cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *Pebble) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("already running")
	}
	cmd := exec.Command(p.bin, "-config", p.cfgPath, "-dnsserver", p.dns)
	env := []string{"PATH=" + os.Getenv("PATH"), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}
	if p.opts.AlwaysValid {
		env = append(env, "PEBBLE_VA_ALWAYS_VALID=1")
	}
	cmd.Env = env
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	return waitHTTPS(p.DirectoryURL, p.TLSPool, done)
}

// waitHTTPS polls u until it answers 200 (30 s backstop) or exited is closed.
func waitHTTPS(u string, pool *x509.CertPool, exited <-chan struct{}) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering %s", u)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer after 30s: %w", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops Pebble (SIGTERM, then SIGKILL after 10 s): the ACME directory refuses
// connections until Restart. Stopping a stopped Pebble does nothing.
func (p *Pebble) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// Restart starts a stopped Pebble again on the same ports. It comes back empty: new roots
// and intermediates (call Roots again), no accounts or orders. Orders and Issued keep
// counting across restarts.
func (p *Pebble) Restart(t testing.TB) {
	t.Helper()
	p.Issued(t) // read back what the running Pebble issued: it forgets on restart
	p.Stop()
	var err error
	for range 20 { // the ports may linger briefly after exit
		if err = p.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testenv: restart pebble: %v", err)
}

// Orders is the number of orders Pebble has created since StartPebble (counted from its
// log's "Added order" lines, one per successful newOrder request, across restarts).
func (p *Pebble) Orders() int {
	return strings.Count(p.out.String(), orderAddedMsg)
}

// Issued returns, per DNS name, how many certificates Pebble has issued for it since
// StartPebble: the serials from its log's "Issued certificate serial" lines, each
// certificate read back once from the management API (/cert-status-by-serial/) for its
// names. Restart reads back what the stopped Pebble issued first, so counts survive it.
func (p *Pebble) Issued(t testing.TB) map[string]int {
	t.Helper()
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	if p.seen == nil {
		p.seen = map[string][]string{}
	}
	counts := map[string]int{}
	for _, m := range issuedLineRE.FindAllStringSubmatch(p.out.String(), -1) {
		if _, ok := p.seen[m[1]]; !ok {
			p.seen[m[1]] = p.certNames(t, m[1])
		}
	}
	for _, names := range p.seen {
		for _, n := range names {
			counts[n]++
		}
	}
	return counts
}

// certNames reads the certificate with serial (hex) back from the management API.
func (p *Pebble) certNames(t testing.TB, serial string) []string {
	t.Helper()
	var st struct{ Certificate string }
	if err := json.Unmarshal(p.get(t, "/cert-status-by-serial/"+serial), &st); err != nil {
		t.Fatalf("testenv: pebble cert status %s: %v", serial, err)
	}
	blk, _ := pem.Decode([]byte(st.Certificate))
	if blk == nil {
		t.Fatalf("testenv: pebble cert status %s: no PEM certificate", serial)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("testenv: pebble cert %s: %v", serial, err)
	}
	return cert.DNSNames
}

// Roots is a pool of Pebble's current issuing root and intermediate certificates (from its
// management API's /roots/0 and /intermediates/0): what a client needs to verify the
// certificates Pebble issued. It changes on Restart.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, path := range []string{"/roots/0", "/intermediates/0"} {
		if !pool.AppendCertsFromPEM(p.get(t, path)) {
			t.Fatalf("testenv: pebble %s: no certificate", path)
		}
	}
	return pool
}

// RootPEM is Pebble's current root certificate in PEM (management API /roots/0).
func (p *Pebble) RootPEM(t testing.TB) []byte {
	t.Helper()
	return p.get(t, "/roots/0")
}

func (p *Pebble) get(t testing.TB, path string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.TLSPool}}}
	resp, err := c.Get(p.mgmt + path)
	if err != nil {
		t.Fatalf("testenv: pebble management %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: pebble management %s: %s %v", path, resp.Status, err)
	}
	return body
}

// SetDefaultIPv4 makes the started resolver answer A queries for every name without its own
// record (SetA) with ip, e.g. to make Pebble reach another agent bound to 127.0.0.3. Only
// without PebbleOptions.DNSServer.
func (p *Pebble) SetDefaultIPv4(t testing.TB, ip string) {
	t.Helper()
	p.challPost(t, "/set-default-ipv4", map[string]any{"ip": ip})
}

// SetA makes the started resolver answer A queries for host with ips (replacing earlier
// ones). Only without PebbleOptions.DNSServer.
func (p *Pebble) SetA(t testing.TB, host string, ips ...string) {
	t.Helper()
	p.challPost(t, "/clear-a", map[string]any{"host": host})
	p.challPost(t, "/add-a", map[string]any{"host": host, "addresses": ips})
}

func (p *Pebble) challPost(t testing.TB, path string, body map[string]any) {
	t.Helper()
	if p.chall == "" {
		t.Fatal("testenv: pebble uses an external DNS server; its records are set there")
	}
	b, _ := json.Marshal(body)
	resp, err := http.Post(p.chall+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("testenv: pebble-challtestsrv %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: pebble-challtestsrv %s: %s", path, resp.Status)
	}
}

// startChallSrv runs pebble-challtestsrv as a DNS server only (every A query answered with
// DefaultIPv4, no AAAA) and points Pebble at it.
func (p *Pebble) startChallSrv(t testing.TB) {
	t.Helper()
	bin := challSrvTool.get(t)
	p.dns = freeUDPAndTCP(t)
	mport, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ip := p.opts.DefaultIPv4
	if ip == "" {
		ip = "127.0.0.1"
	}
	mgmt := "127.0.0.1:" + strconv.Itoa(mport)
	cmd := exec.Command(bin, "-dnsserver", p.dns, "-management", mgmt, "-defaultIPv4", ip, "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &SyncBuffer{}
	exited := StartProcess(t, "pebble-challtestsrv", cmd, out)
	p.chall = "http://" + mgmt
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, p.dns)
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := r.LookupIPAddr(ctx, "probe.pebble.test")
		cancel()
		if err == nil && managementUp(p.chall) {
			return
		}
		select {
		case <-exited:
			t.Fatalf("testenv: pebble-challtestsrv exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: pebble-challtestsrv does not answer after 30s: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func managementUp(base string) bool {
	u, _ := url.Parse(base + "/dns-request-history")
	resp, err := http.Post(u.String(), "application/json", strings.NewReader(`{"host":"x"}`))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
