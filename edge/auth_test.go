package edge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// echoHeaders is a backend answering with the request headers auth steps touch, and
// counting the requests that reach it.
func echoHeaders(t testing.TB, hits *atomic.Int64) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		fmt.Fprintf(w, "authz=%q user=%q subject=%q fp=%q",
			r.Header.Get("Authorization"), r.Header.Values("X-Auth-User"),
			r.Header.Values(site.ClientCertSubjectHeader), r.Header.Values(site.ClientCertFingerprintHeader))
	}))
	t.Cleanup(srv.Close)
	return mustURL(srv.URL)
}

func bcryptHash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func argon2Hash(pw string) string {
	salt := []byte("0123456789abcdef")
	sum := argon2.IDKey([]byte(pw), salt, 1, 1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

var adminUsers = site.SecretRef{Mount: "secret", Path: "edge/auth/admin"}

// basicAuthSite is a site whose "/" route asks for the users alice (bcrypt) and bob
// (argon2id).
func basicAuthSite(t testing.TB, backend *url.URL) *Site {
	s := testSite(t, "basic", "basic.example.com")
	s.Routes[0].Upstreams = []*url.URL{backend}
	s.Routes[0].BasicAuth = &site.BasicAuth{Realm: `Staging "B"`, Users: adminUsers}
	s.Routes = append(s.Routes, site.Route{Path: "/public", Upstreams: []*url.URL{backend}})
	s.Users = map[site.SecretRef]map[string]string{adminUsers: {"alice": bcryptHash(t, "wonderland"), "bob": argon2Hash("builder")}}
	return s
}

func basicAuthHeader(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// TestBasicAuth: a route with basic auth lets the right user and password through without
// the Authorization header, and answers 401 with the realm otherwise, over HTTP/1.1 and
// HTTP/2; another route of the site is not asked.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	var hits atomic.Int64
	publish(t, srv, 1, basicAuthSite(t, echoHeaders(t, &hits)))
	base := "https://basic.example.com/"
	denied := srv.metrics.access.denied
	wrong := testutil.ToFloat64(denied.WithLabelValues("basic", DenyBasicAuthWrong))
	missing := testutil.ToFloat64(denied.WithLabelValues("basic", DenyBasicAuthMissing))
	for _, h1 := range []bool{true, false} {
		c := httpClient(t, srv.Addr(), h1)
		for _, tc := range []struct {
			name, authz string
			want        int
		}{
			{"none", "", 401},
			{"bearer", "Bearer abc", 401},
			{"wrong password", basicAuthHeader("alice", "wonderlan"), 401},
			{"unknown user", basicAuthHeader("mallory", "wonderland"), 401},
			{"other user's password", basicAuthHeader("bob", "wonderland"), 401},
			{"alice (bcrypt)", basicAuthHeader("alice", "wonderland"), 200},
			{"alice again (remembered)", basicAuthHeader("alice", "wonderland"), 200},
			{"bob (argon2id)", basicAuthHeader("bob", "builder"), 200},
		} {
			before := hits.Load()
			code, body, resp := get(t, c, base+"x", "Authorization", tc.authz)
			if code != tc.want {
				t.Errorf("h1=%v %s: %d %q; want %d", h1, tc.name, code, body, tc.want)
				continue
			}
			if tc.want == 401 {
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="Staging \"B\"", charset="UTF-8"` {
					t.Errorf("h1=%v %s: WWW-Authenticate %q", h1, tc.name, got)
				}
				if hits.Load() != before {
					t.Errorf("h1=%v %s: the request reached the app", h1, tc.name)
				}
				continue
			}
			if !strings.HasPrefix(body, `authz="" `) {
				t.Errorf("h1=%v %s: the app got the credentials: %s", h1, tc.name, body)
			}
		}
		if code, body, _ := get(t, c, base+"public/x"); code != 200 {
			t.Errorf("route without basic auth: %d %q", code, body)
		}
	}
	if d := testutil.ToFloat64(denied.WithLabelValues("basic", DenyBasicAuthWrong)) - wrong; d != 6 {
		t.Errorf("basic_auth_wrong denials: %v; want 6", d)
	}
	if d := testutil.ToFloat64(denied.WithLabelValues("basic", DenyBasicAuthMissing)) - missing; d != 4 {
		t.Errorf("basic_auth_missing denials: %v; want 4", d)
	}
}

// TestBasicAuthRefusesBadUsers: a hash that does not parse, or is too costly, or users not
// read, make the site invalid; the error names the user, never the hash.
func TestBasicAuthRefusesBadUsers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	costly := strings.Replace(bcryptHash(t, "x"), "$04$", "$20$", 1)
	for name, users := range map[string]map[site.SecretRef]map[string]string{
		"plain text": {adminUsers: {"carol": "hunter2-plain"}},
		"too costly": {adminUsers: {"carol": costly}},
		"not read":   nil,
	} {
		s := basicAuthSite(t, mustURL("http://127.0.0.1:1"))
		s.Users = users
		_, err := srv.build(1, "rev", []*Site{s})
		if err == nil {
			t.Errorf("%s: built", name)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), costly[7:]) {
			t.Errorf("%s: the error shows the hash: %v", name, err)
		}
		if users != nil && !strings.Contains(err.Error(), `user "carol"`) {
			t.Errorf("%s: the error does not name the user: %v", name, err)
		}
	}
}

// authService is a real HTTP auth service deciding by the X-Forwarded-Uri it is asked about.
func authService(t testing.TB, asked chan<- http.Header) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked != nil {
			select {
			case asked <- r.Header.Clone():
			default:
			}
		}
		switch u := r.Header.Get("X-Forwarded-Uri"); {
		case strings.HasPrefix(u, "/allow-anon"):
			w.WriteHeader(204)
		case strings.HasPrefix(u, "/allow"):
			w.Header().Set("X-Auth-User", "alice")
			w.Header().Set("X-Other", "not copied")
		case strings.HasPrefix(u, "/login"):
			w.Header().Set("Location", "https://login.example.com/?next="+url.QueryEscape(u))
			w.Header().Set("Set-Cookie", "state=1")
			w.WriteHeader(302)
		case strings.HasPrefix(u, "/slow"):
			<-r.Context().Done()
		case strings.HasPrefix(u, "/huge"):
			w.WriteHeader(403)
			w.Write(make([]byte, maxForwardAuthBody+10))
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="x"`)
			w.WriteHeader(401)
			io.WriteString(w, "log in first")
		}
	}))
	t.Cleanup(srv.Close)
	return mustURL(srv.URL)
}

// TestForwardAuth: the auth service's 2xx lets the request through with its declared
// headers (and only those, a client's forged copies removed); its refusals reach the client
// as they are; a slow or unreachable service denies with 503; the app sees nothing denied.
func TestForwardAuth(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	var hits atomic.Int64
	backend := echoHeaders(t, &hits)
	asked := make(chan http.Header, 1)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s := testSite(t, "fwd", "fwd.example.com")
	fa := &site.ForwardAuth{URL: authService(t, asked), ResponseHeaders: []string{"x-auth-user"}, Timeout: 300 * time.Millisecond}
	down := &site.ForwardAuth{URL: mustURL(closed.URL), ResponseHeaders: []string{"X-Auth-User"}}
	s.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{backend}, ForwardAuth: fa},
		{Path: "/down", Upstreams: []*url.URL{backend}, ForwardAuth: down},
	}
	publish(t, srv, 1, s)
	c := httpClient(t, srv.Addr(), false)
	base := "https://fwd.example.com"
	forge := []string{"X-Auth-User", "mallory", "Cookie", "sid=42", "X-Private", "p"}

	code, body, _ := get(t, c, base+"/allow/x?q=1", forge...)
	if code != 200 || !strings.Contains(body, `user=["alice"]`) {
		t.Errorf("allowed: %d %q; want 200 with the service's X-Auth-User only", code, body)
	}
	h := <-asked
	for k, want := range map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/allow/x?q=1",
		"X-Forwarded-Host": "fwd.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1", "Cookie": "sid=42", "X-Private": ""} {
		if got := h.Get(k); got != want {
			t.Errorf("the auth service got %s %q; want %q", k, got, want)
		}
	}
	if code, body, _ := get(t, c, base+"/allow-anon", forge...); code != 200 || !strings.Contains(body, "user=[]") {
		t.Errorf("allowed without identity: %d %q; want 200 and no X-Auth-User (the forged one removed)", code, body)
	}
	before := hits.Load()
	for _, tc := range []struct {
		path   string
		want   int
		header string
		body   string
	}{
		{"/private", 401, "Www-Authenticate", "log in first"},
		{"/login", 302, "Location", ""},
		{"/huge", 403, "", ""},
		{"/slow", 503, "", ""},
		{"/down/x", 503, "", ""},
	} {
		code, body, resp := get(t, c, base+tc.path, forge...)
		if code != tc.want || (tc.header != "" && resp.Header.Get(tc.header) == "") || (tc.body != "" && body != tc.body) {
			t.Errorf("%s: %d %q (headers %v); want %d with %s %q", tc.path, code, body, resp.Header, tc.want, tc.header, tc.body)
		}
	}
	if hits.Load() != before {
		t.Errorf("%d denied requests reached the app", hits.Load()-before)
	}
}

// mtlsSetup is a server with three sites: "req" requires a client certificate of the
// test CA, "opt" takes one if given, "none" asks for none; each proxies to echoHeaders.
func mtlsSetup(t *testing.T) (*Server, *atomic.Int64) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	var hits atomic.Int64
	backend := echoHeaders(t, &hits)
	var sites []*Site
	for _, m := range []site.ClientCertMode{site.ClientCertRequire, site.ClientCertOptional, ""} {
		name := string(m)
		if name == "" {
			name = "none"
		}
		s := testSite(t, name, name+".example.com")
		s.Routes[0].Upstreams = []*url.URL{backend}
		if m != "" {
			s.ClientAuth = &site.ClientAuth{CAFile: "ca.pem", CAs: []*x509.Certificate{ca(t).Cert}, Mode: m}
		}
		sites = append(sites, s)
	}
	publish(t, srv, 1, sites...)
	return srv, &hits
}

// mtlsClient is httpClient presenting cert (none if nil); asked counts the servers'
// certificate requests.
func mtlsClient(t testing.TB, addr net.Addr, cert *tls.Certificate, asked *atomic.Int64) *http.Client {
	c := httpClient(t, addr, false)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if asked != nil {
			asked.Add(1)
		}
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return c
}

// tryGet is get that returns the error instead of failing the test.
func tryGet(c *http.Client, url string, hdr ...string) (int, string, error) {
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestClientAuth: a site requiring client certificates takes a good one and refuses the
// handshake of none, an expired one and one of another CA; an optional site takes none
// too; a site without client_auth never asks. The app gets the verified subject and
// fingerprint, never the client's own copies of those headers.
func TestClientAuth(t *testing.T) {
	t.Parallel()
	srv, hits := mtlsSetup(t)
	good, err := ca(t).IssueClient("alice \r\nX-Evil: 1", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca(t).IssueClient("old", "", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := edgetest.NewCA(t).IssueClient("stranger", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	refusedBefore := testutil.ToFloat64(srv.metrics.handshakeErrors.WithLabelValues("client_certificate"))
	sum := sha256.Sum256(good.Cert.Raw)
	wantGood := fmt.Sprintf("subject=[%q] fp=[%q]", "CN=alice %0D%0AX-Evil: 1", hex.EncodeToString(sum[:]))
	forge := []string{site.ClientCertSubjectHeader, "CN=admin", site.ClientCertFingerprintHeader, "00"}
	for _, tc := range []struct {
		site, cert string
		want       string // "" means the handshake is refused
	}{
		{"require", "good", wantGood},
		{"require", "none", ""},
		{"require", "expired", ""},
		{"require", "stranger", ""},
		{"optional", "good", wantGood},
		{"optional", "none", `subject=[] fp=[]`},
		{"optional", "expired", ""},
		{"optional", "stranger", ""},
		{"none", "none", `subject=[] fp=[]`},
	} {
		cert := map[string]*tls.Certificate{"good": &good.TLS, "expired": &expired.TLS, "stranger": &stranger.TLS}[tc.cert]
		var asked atomic.Int64
		before := hits.Load()
		code, body, err := tryGet(mtlsClient(t, srv.Addr(), cert, &asked), "https://"+tc.site+".example.com/", forge...)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s with %s certificate: %d %q; want the handshake refused", tc.site, tc.cert, code, body)
		case tc.want == "" && hits.Load() != before:
			t.Errorf("%s with %s certificate: the app was reached", tc.site, tc.cert)
		case tc.want != "" && (err != nil || code != 200 || !strings.HasSuffix(body, tc.want)):
			t.Errorf("%s with %s certificate: %d %q %v; want 200 ending %s", tc.site, tc.cert, code, body, err, tc.want)
		}
		if wantAsked := tc.site != "none"; (asked.Load() > 0) != wantAsked {
			t.Errorf("%s: certificate requested %d times; want requested: %v", tc.site, asked.Load(), wantAsked)
		}
	}
	// Five handshakes were refused for their certificate; the server logs (and counts) each
	// once it is done with it, maybe after the client gave up: wait for them.
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(srv.metrics.handshakeErrors.WithLabelValues("client_certificate"))-refusedBefore < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := testutil.ToFloat64(srv.metrics.handshakeErrors.WithLabelValues("client_certificate")) - refusedBefore; n != 5 {
		t.Errorf("edge_tls_handshake_errors_total{reason=\"client_certificate\"} rose by %v; want 5", n)
	}
}

// TestClientAuthCoalesced: on a connection whose certificate was verified for the site
// requiring it, a request for another site gets 421; and on a connection of a site without
// client_auth a request for the site requiring it gets 421: the app is not reached either
// way, over HTTP/2 and HTTP/1.1.
func TestClientAuthCoalesced(t *testing.T) {
	t.Parallel()
	srv, hits := mtlsSetup(t)
	good, err := ca(t).IssueClient("alice", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h1 := range []bool{false, true} {
		for _, tc := range []struct{ sni, host string }{{"require.example.com", "none.example.com"}, {"none.example.com", "require.example.com"}, {"optional.example.com", "require.example.com"}} {
			c := mtlsClient(t, srv.Addr(), &good.TLS, nil)
			tr := c.Transport.(*http.Transport)
			if h1 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
				tr.ForceAttemptHTTP2 = false
			}
			tr.TLSClientConfig.ServerName = tc.sni // the connection's SNI, whatever the URL
			code, body, err := tryGet(c, "https://"+tc.sni+"/", "Host", tc.sni)
			if err != nil || code != 200 {
				t.Fatalf("h1=%v %s on its own connection: %d %q %v", h1, tc.sni, code, body, err)
			}
			before := hits.Load()
			code, body, err = tryGet(c, "https://"+tc.sni+"/", "Host", tc.host)
			if err != nil || code != http.StatusMisdirectedRequest || hits.Load() != before {
				t.Errorf("h1=%v Host %s on the connection of %s: %d %q %v; want 421, app not reached", h1, tc.host, tc.sni, code, body, err)
			}
		}
	}
}

// TestClientAuthAddedToOpenConnection: a connection opened before its site required client
// certificates gets 403 for its next request, without reaching the app.
func TestClientAuthAddedToOpenConnection(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	var hits atomic.Int64
	s := testSite(t, "late", "late.example.com")
	s.Routes[0].Upstreams = []*url.URL{echoHeaders(t, &hits)}
	publish(t, srv, 1, s)
	c := mtlsClient(t, srv.Addr(), nil, nil)
	if code, body, err := tryGet(c, "https://late.example.com/"); err != nil || code != 200 {
		t.Fatalf("before client_auth: %d %q %v", code, body, err)
	}
	s2 := *s
	s2.ClientAuth = &site.ClientAuth{CAs: []*x509.Certificate{ca(t).Cert}}
	publish(t, srv, 2, &s2)
	before := hits.Load()
	if code, body, err := tryGet(c, "https://late.example.com/"); err != nil || code != 403 || hits.Load() != before {
		t.Errorf("after client_auth, same connection: %d %q %v; want 403, app not reached", code, body, err)
	}
}

// TestClientAuthHTTP3: HTTP/3 handshakes go through the same per-site configuration.
func TestClientAuthHTTP3(t *testing.T) {
	t.Parallel()
	srv, _ := mtlsSetup(t)
	good, err := ca(t).IssueClient("carol", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cert *tls.Certificate
		ok   bool
	}{{&good.TLS, true}, {nil, false}} {
		c, tr := h3Client(t, srv.HTTP3Addr())
		if tc.cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*tc.cert}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://require.example.com/", nil)
		resp, err := c.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body) // before cancel, which would cut the body
			resp.Body.Close()
			err = fmt.Errorf("%d %s (read: %v)", resp.StatusCode, b, rerr)
			if !tc.ok || resp.StatusCode != 200 || !strings.Contains(string(b), `subject=["CN=carol"]`) {
				t.Errorf("h3 with certificate %v: %v", tc.cert != nil, err)
			}
		} else if tc.ok {
			t.Errorf("h3 with a good certificate: %v", err)
		}
		cancel()
	}
}

// TestCurlAuth: curl (OpenSSL) with and without a client certificate and credentials,
// against a site requiring both, over HTTP/2 and HTTP/1.1 with TLS 1.3 and 1.2.
func TestCurlAuth(t *testing.T) {
	curl := testenv.NeedTool(t, "curl", "curl")
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	s := basicAuthSite(t, echoHeaders(t, nil))
	s.ClientAuth = &site.ClientAuth{CAs: []*x509.Certificate{ca(t).Cert}}
	publish(t, srv, 1, s)
	leaf, err := ca(t).IssueClient("curl-client", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, leaf.ChainPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	p := port(srv.Addr())
	base := []string{"-sv", "--max-time", "10", "--cacert", writeCAFile(t), "--resolve", "basic.example.com:" + p + ":127.0.0.1"}
	withCert := []string{"--cert", certFile, "--key", keyFile}
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		want []string
	}{
		{"cert and password, h2", append(withCert, "-u", "alice:wonderland", "--http2"), true,
			[]string{"< HTTP/2 200", `authz="" user=[] subject=["CN=curl-client"]`}},
		{"cert and password, http/1.1, TLS 1.2", append(withCert, "-u", "bob:builder", "--http1.1", "--tls-max", "1.2"), true,
			[]string{"< HTTP/1.1 200", `subject=["CN=curl-client"]`}},
		{"cert, wrong password", append(withCert, "-u", "alice:nope"), true,
			[]string{"< HTTP/2 401", `www-authenticate: Basic realm="Staging \"B\"", charset="UTF-8"`}},
		{"no cert", []string{"-u", "alice:wonderland"}, false, nil},
	} {
		args := append(append(append([]string{}, base...), tc.args...), "https://basic.example.com:"+p+"/")
		out, err := run(t, 15*time.Second, curl, args...)
		if (err == nil) != tc.ok {
			t.Errorf("%s: curl err %v; want success %v\n%s", tc.name, err, tc.ok, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: curl output lacks %q:\n%s", tc.name, w, out)
			}
		}
		if !tc.ok && strings.Contains(out, "< HTTP") {
			t.Errorf("%s: got a response; want the handshake refused:\n%s", tc.name, out)
		}
	}
}
