package edge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/site"
)

// ExampleServer serves one site: an app on a local port (here an httptest server) behind the
// HTTPS listener, with a certificate generated on the spot.
func ExampleServer() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the app: %s%s\n", r.Host, r.URL.Path)
	}))
	defer app.Close()
	appURL, _ := url.Parse(app.URL)

	cert, roots := selfSigned("shop.example.com")
	srv := edge.NewServer(edge.Options{
		Listen:      "127.0.0.1:0", // a free port: srv.Addr() tells which
		HTTPListen:  edge.Off,
		AdminListen: edge.Off,
		Logger:      slog.New(slog.DiscardHandler),
	})
	ctx := context.Background()
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(ctx)

	shop := &edge.Site{
		Site: site.Site{
			Name:    "shop",
			Hosts:   []string{"shop.example.com"},
			Routes:  []site.Route{{Path: "/", Upstreams: []*url.URL{appURL}}},
			Headers: site.Headers{HSTS: &site.HSTS{MaxAge: site.DefaultHSTSMaxAge}},
		},
		Certificates: []tls.Certificate{cert},
	}
	if err := srv.Publish(1, "4f2a9c1", []*edge.Site{shop}); err != nil {
		fmt.Println(err)
		return
	}

	client := clientTo(srv, roots)
	defer client.CloseIdleConnections() // before Shutdown, which waits for open connections
	res, err := client.Get("https://shop.example.com/cart")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.Status, res.Proto)
	fmt.Println("Strict-Transport-Security:", res.Header.Get("Strict-Transport-Security"))
	fmt.Print(string(body))
	// Output:
	// 200 OK HTTP/2.0
	// Strict-Transport-Security: max-age=31536000
	// hello from the app: shop.example.com/cart
}

// ExampleSnapshot shows that a set of sites that does not hold together is refused
// as a whole, with every problem named, and the current snapshot keeps serving.
func ExampleSnapshot() {
	cert, _ := selfSigned("shop.example.com")
	up, _ := url.Parse("http://127.0.0.1:3001")
	newSite := func(name string) *edge.Site {
		return &edge.Site{
			Site: site.Site{
				Name:   name,
				Hosts:  []string{"shop.example.com"},
				Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{up}}},
			},
			Certificates: []tls.Certificate{cert},
		}
	}
	// Publish needs no listener: a server that is not started yet can be given its
	// first snapshot, which its listeners then serve from the first handshake.
	srv := edge.NewServer(edge.Options{Logger: slog.New(slog.DiscardHandler)})
	defer srv.Shutdown(context.Background())

	fmt.Println("before:", srv.Current().Generation(), srv.Current() == nil)
	if err := srv.Publish(1, "4f2a9c1", []*edge.Site{newSite("shop")}); err != nil {
		fmt.Println(err)
	}
	err := srv.Publish(2, "b7e01d3", []*edge.Site{newSite("shop"), newSite("copy")})
	fmt.Println(err)
	fmt.Println("duplicate host:", errors.Is(err, edge.ErrDuplicateHost))
	cur := srv.Current()
	fmt.Println("serving:", cur.Generation(), cur.Commit())
	// Output:
	// before: 0 true
	// edge: duplicate host: host shop.example.com is claimed by sites shop and copy
	// duplicate host: true
	// serving: 1 4f2a9c1
}

// clientTo returns an HTTP client that trusts roots and connects to srv's HTTPS listener
// whatever the host name in the URL, as DNS pointing the name at srv would.
func clientTo(srv *edge.Server, roots *x509.CertPool) *http.Client {
	addr := srv.Addr().String()
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, addr)
		},
	}}
}

// selfSigned returns a self-signed ECDSA certificate for host, with Leaf filled in as
// edge requires, and a pool trusting it.
func selfSigned(host string) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
