package testca_test

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/edgectl/edge/tests/testca"
)

func Example() {
	ca, err := testca.New()
	if err != nil {
		panic(err)
	}
	leaf, err := ca.Issue([]string{"shop.example.test", "*.shop.example.test"}, testca.ECDSA, time.Time{})
	if err != nil {
		panic(err)
	}
	// leaf.ChainPEM and leaf.KeyPEM are a site's certificate and key files; leaf.TLS is
	// what a server serves; ca.Pool() is what its clients trust.
	_, err = leaf.TLS.Leaf.Verify(x509.VerifyOptions{DNSName: "www.shop.example.test", Roots: ca.Pool()})
	fmt.Println(leaf.Cert.Subject.CommonName, leaf.Cert.DNSNames, err)
	// Output: shop.example.test [shop.example.test *.shop.example.test] <nil>
}
