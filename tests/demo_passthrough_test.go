package tests

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

// demoCheckPassthrough checks the demo's passthrough site: a client asking for secure.example.test gets the TLS sample app's
// own certificate, not one the edge holds, and the app's greeting; the printed curl line
// works. It returns the TLS app's output line (its address at index 1), or nil.
func demoCheckPassthrough(t *testing.T, d *demoProc, client *http.Client, dir, port, app string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+tls-app\s+(\S+) \((.*)\)$`).FindStringSubmatch(d.output())
	if !strings.Contains(d.output(), "# a passthrough site") {
		t.Error("the demo printed no passthrough site")
		return nil
	}
	if m == nil {
		t.Fatal("the demo prints a passthrough site but no tls-app line")
	}
	if want := map[string]string{"node": "node hello-tls.js", "go": "built-in Go app"}[app]; !strings.HasPrefix(m[2], want) {
		t.Errorf("tls-app line %q; want the %s", m[0], want)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "tls-app", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("tls-app/cert.pem: no PEM block")
	}
	resp, body := demoGet(t, client, "https://secure.example.test:"+port+"/", "")
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, block.Bytes) {
		t.Errorf("secure.example.test: the certificate served is not the TLS app's own")
	}
	if resp.StatusCode != 200 || !strings.Contains(body, "hello from tls-app ("+app) || !strings.Contains(body, "TLS terminated by the app") {
		t.Errorf("secure.example.test: %s %q; want the TLS app's greeting", resp.Status, body)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Errorf("tls-app/cert.pem: %v", err)
	}
	t.Run("printed curl", func(t *testing.T) {
		testenv.NeedTool(t, "curl", "curl")
		curlLine := d.lineContaining(t, "curl -sS", "https://secure.example.test:")
		if out, err := exec.Command("sh", "-c", curlLine).CombinedOutput(); err != nil || !strings.Contains(string(out), "TLS terminated by the app") {
			t.Errorf("%s: %v\n%s", curlLine, err, out)
		}
	})
	t.Run("printed openssl", func(t *testing.T) {
		testenv.NeedTool(t, "openssl", "openssl")
		served := d.lineContaining(t, "openssl s_client", "-servername secure.example.test")
		own := d.lineContaining(t, "openssl x509 -in", "cert.pem")
		a, errA := exec.Command("sh", "-c", served).CombinedOutput()
		b, errB := exec.Command("sh", "-c", own).CombinedOutput()
		if errA != nil || errB != nil || !strings.Contains(string(a), "Fingerprint=") || string(a) != string(b) {
			t.Errorf("fingerprints differ or failed:\n%s: %v\n%s\n%s: %v\n%s", served, errA, a, own, errB, b)
		}
	})
	return []string{m[0], m[1]}
}
