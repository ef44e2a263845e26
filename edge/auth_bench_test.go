package edge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// BenchmarkSNIClientAuth is BenchmarkSNI (10,000 sites) with one site of them requiring
// client certificates: the configuration of a handshake for a plain site (what every other
// site pays for mTLS existing) and for the mTLS site.
func BenchmarkSNIClientAuth(b *testing.B) {
	srv := NewServer(Options{Logger: quietLogger})
	defer srv.proxy.Close()
	sites := benchSites(b, 10000)
	mtls := *sites[0]
	mtls.ClientAuth = &site.ClientAuth{CAs: []*x509.Certificate{ca(b).Cert}}
	sites[0] = &mtls
	if err := srv.Publish(1, "", sites); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		n    int
		want tls.ClientAuthType
	}{{"plain", 5000, tls.NoClientCert}, {"mtls", 0, tls.RequireAndVerifyClientCert}} {
		b.Run(tc.name, func(b *testing.B) {
			hello := &tls.ClientHelloInfo{ServerName: fmt.Sprintf("site%05d.bench.test", tc.n)}
			b.ReportAllocs()
			for b.Loop() {
				cfg, _ := srv.getConfigForClient(hello)
				if cfg.ClientAuth != tc.want {
					b.Fatalf("client auth %v; want %v", cfg.ClientAuth, tc.want)
				}
				if c, err := cfg.GetCertificate(hello); c == nil || err != nil {
					b.Fatal("no certificate")
				}
			}
		})
	}
}
