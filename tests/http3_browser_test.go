package tests

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAgentHTTP3Browser loads a site from the agent binary in a real headless Chromium
// forced onto QUIC for that origin: the page arrives over HTTP/3 (the browser says h3) and
// the agent's access log has the request with proto=h3.
func TestAgentHTTP3Browser(t *testing.T) {
	p, b := quicBrowser(t, "--access-log", "text")
	proto := eval[string](b, `performance.getEntriesByType("navigation")[0].nextHopProtocol`)
	body := eval[string](b, `document.body.innerText`)
	t.Logf("Chromium: %s, %q", proto, body)
	if proto != "h3" || !strings.Contains(body, "hello from alpha.example.test") {
		t.Errorf("Chromium got %q over %q; want the site over h3", body, proto)
	}
	p.waitFor("access log line with proto=h3", 10*time.Second, func() bool {
		return strings.Contains(p.out.String(), "proto=h3")
	})
}

// TestAgentHTTP3BrowserParallel has Chromium's own QUIC and HTTP/3 stack (not quic-go's)
// fetch 300 resources from the agent at once, three times the streams a connection may
// open (100): every response arrives whole over h3, so the agent's batched responses and
// the stream credit it grants with them (edge/internal/h3srv batch.go, credit.go) keep a
// browser going.
func TestAgentHTTP3BrowserParallel(t *testing.T) {
	_, b := quicBrowser(t)
	eval[chromedp.Void](b, `performance.setResourceTimingBufferSize(1000);
		window.h3done = false;
		Promise.all(Array.from({length: 300}, (_, i) => fetch("/?n=" + i, {cache: "no-store"})
			.then(async r => r.status === 200 && (await r.text()).includes("hello from alpha.example.test"))
			.catch(() => false)))
		.then(oks => { window.h3ok = oks.filter(Boolean).length; window.h3done = true; })`)
	b.waitJS("the 300 fetches", `window.h3done === true`, time.Minute)
	ok := eval[int](b, `window.h3ok`)
	h3 := eval[int](b, `performance.getEntriesByType("resource").filter(e => e.name.includes("?n=") && e.nextHopProtocol === "h3").length`)
	t.Logf("Chromium: %d of 300 fetches whole, %d over h3", ok, h3)
	if ok != 300 || h3 != 300 {
		t.Errorf("Chromium: %d of 300 fetches whole, %d over h3; want all 300 over h3", ok, h3)
	}
}

// quicBrowser starts the agent binary (with extra flags) serving the site alpha, and a
// headless Chromium forced onto QUIC for its origin, on its front page.
func quicBrowser(t *testing.T, extra ...string) (*agentProc, *uiBrowser) {
	d := newDirRepo(t)
	d.add("alpha")
	p := startAgentProc(t, d.ca, nil, append([]string{"--repo", d.git.URL, "--key-dir", d.keyDir}, extra...)...)
	p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })
	_, port, _ := net.SplitHostPort(p.https)
	origin := "alpha.example.test:" + port
	b := newUIBrowser(t,
		chromedp.Flag("origin-to-force-quic-on", origin),
		chromedp.Flag("host-resolver-rules", "MAP alpha.example.test 127.0.0.1"),
		// The test CA is not in Chromium's store: trust the site's key (QUIC ignores
		// --ignore-certificate-errors).
		chromedp.Flag("ignore-certificate-errors-spki-list", leafSPKIHash(t, p, "alpha.example.test")),
	)
	b.do(chromedp.Navigate("https://" + origin + "/"))
	return p, b
}

// leafSPKIHash returns the base64 SHA-256 of the public key the agent serves for host
// (over TCP), as Chromium's --ignore-certificate-errors-spki-list wants it.
func leafSPKIHash(t *testing.T, p *agentProc, host string) string {
	conn, err := tls.Dial("tcp", p.https, &tls.Config{RootCAs: p.ca.Pool(), ServerName: host})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
