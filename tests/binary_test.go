// Package tests holds edge's end-to-end tests: they build the real edgectl binary and run it
// against a real git server, a real Vault server and real TLS clients.
package tests

import (
	"net"
	"testing"
)

// edgectl returns the edgectl binary every end-to-end test runs: the one the Dockerfile's
// build line makes (see exEdgectl), built once per test binary.
func edgectl(t testing.TB) string {
	t.Helper()
	return exEdgectl(t)
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
