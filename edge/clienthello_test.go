package edge

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

// tlsSeesHello runs crypto/tls's server handshake on b (nothing more is read) and returns
// what GetConfigForClient was given, if it was reached.
func tlsSeesHello(b []byte) (hello *tls.ClientHelloInfo, reached bool) {
	stop := errors.New("stop")
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		hello, reached = h, true
		return nil, stop
	}}
	tls.Server(&bytesConn{rest: b}, conf).Handshake()
	return hello, reached
}

// bytesConn serves b to a reader, then fails; writes are dropped.
type bytesConn struct {
	net.Conn
	rest []byte
}

func (c *bytesConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		return 0, errors.New("no more bytes")
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// checkHelloSNI fails if helloSNI answers for b where crypto/tls would not reach
// GetConfigForClient with the same name and the same acme-tls/1 offer.
func checkHelloSNI(t *testing.T, b []byte) (name string, ok bool) {
	t.Helper()
	n, acme, ok := helloSNI(b)
	if !ok {
		return "", false
	}
	hello, reached := tlsSeesHello(b)
	switch {
	case !reached:
		t.Fatalf("helloSNI read %q from bytes crypto/tls refuses: %x", n, b)
	case hello.ServerName != string(n):
		t.Fatalf("helloSNI read %q, crypto/tls %q: %x", n, hello.ServerName, b)
	case acme != slices.Contains(hello.SupportedProtos, acmeTLSALPN):
		t.Fatalf("helloSNI acme %v, crypto/tls ALPN %q", acme, hello.SupportedProtos)
	}
	return string(n), true
}

// goHello returns Go's TLS client's first flight for conf.
func goHello(t testing.TB, conf *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, conf).Handshake()
	hdr := make([]byte, 5)
	if _, err := b.Read(hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	for n := 0; n < len(body); {
		k, err := b.Read(body[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return append(hdr, body...)
}

// helloSeeds are ClientHellos of Go's client and hand-made ones, whole and damaged.
func helloSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		goHello(t, &tls.Config{ServerName: "pt.test", InsecureSkipVerify: true}),
		goHello(t, &tls.Config{ServerName: "Pt.Example.COM", NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true}),
		goHello(t, &tls.Config{ServerName: "a.test", NextProtos: []string{acmeTLSALPN}, InsecureSkipVerify: true}),
		goHello(t, &tls.Config{ServerName: "old.test", MaxVersion: tls.VersionTLS12, InsecureSkipVerify: true}),
		goHello(t, &tls.Config{InsecureSkipVerify: true}), // an IP literal target: no SNI
		bigClientHello("pt.test", 100),
		bigClientHello("pt.test", 20000), // two records
		bigClientHello("pt.test.", 10),   // trailing dot
	}
	var more [][]byte
	for _, s := range seeds {
		more = append(more, s[:len(s)/2], s[:5], append(slices.Clone(s), 0x17, 3, 3, 0, 1, 0))
	}
	return append(seeds, more...)
}

// helloSNI reads what crypto/tls reads from whole ClientHellos and abstains on the rest.
func TestHelloSNI(t *testing.T) {
	for _, tc := range []struct {
		hello []byte
		name  string
		ok    bool
	}{
		{goHello(t, &tls.Config{ServerName: "pt.test", InsecureSkipVerify: true}), "pt.test", true},
		{goHello(t, &tls.Config{ServerName: "Pt.Example.COM", NextProtos: []string{"h2"}, InsecureSkipVerify: true}), "Pt.Example.COM", true},
		{goHello(t, &tls.Config{InsecureSkipVerify: true}), "", false},
		{bigClientHello("pt.test", 100), "pt.test", true},
		{bigClientHello("pt.test", 20000), "", false}, // not in one record: crypto/tls's
		{bigClientHello("pt.test.", 10), "", false},
		{bigClientHello("pt.test", 100)[:60], "", false},
	} {
		name, ok := checkHelloSNI(t, tc.hello)
		if name != tc.name || ok != tc.ok {
			t.Errorf("helloSNI = %q, %v; want %q, %v", name, ok, tc.name, tc.ok)
		}
	}
	_, acme, ok := helloSNI(goHello(t, &tls.Config{ServerName: "a.test", NextProtos: []string{acmeTLSALPN}, InsecureSkipVerify: true}))
	if !acme || !ok {
		t.Errorf("acme-tls/1 offer: acme %v ok %v", acme, ok)
	}
}

// Damaged ClientHellos: duplicate extensions, two host names, a malformed key share or
// a misplaced pre_shared_key are refused by crypto/tls, and helloSNI abstains.
func TestHelloSNIMalformed(t *testing.T) {
	base := bigClientHello("pt.test", 0)
	for i := range len(base) {
		for _, v := range []byte{0, 1, 0xff} {
			b := slices.Clone(base)
			b[i] = v
			checkHelloSNI(t, b)
		}
	}
	dup := bytes.Replace(base, []byte{0, 21, 0, 0}, []byte{0, 0, 0, 12, 0, 10, 0, 0, 7, 'p', 't', '.', 't', 'e', 's', 't'}, 1)
	fixLengths(dup)
	if _, ok := checkHelloSNI(t, dup); ok {
		t.Error("a duplicate server_name extension was read")
	}
	other := bytes.Replace(dup, []byte{0, 0, 0, 12, 0, 10}, []byte{0x0a, 0x0a, 0, 12, 0, 10}, 1) // the control: an unknown extension
	if name, ok := checkHelloSNI(t, other); !ok || name != "pt.test" {
		t.Errorf("control: helloSNI = %q, %v", name, ok)
	}
}

// fixLengths rewrites the record, handshake and extensions lengths of a one-record
// ClientHello of bigClientHello's shape (session id empty, one cipher suite).
func fixLengths(b []byte) {
	n := len(b) - 5
	b[3], b[4] = byte(n>>8), byte(n)
	m := n - 4
	b[6], b[7], b[8] = byte(m>>16), byte(m>>8), byte(m)
	e := len(b) - 5 - 4 - 2 - 32 - 1 - 4 - 2 - 2
	b[5+4+2+32+1+4+2], b[5+4+2+32+1+4+2+1] = byte(e>>8), byte(e)
}

// FuzzHelloSNI: whatever the bytes, helloSNI never reads a name crypto/tls would not
// give GetConfigForClient.
func FuzzHelloSNI(f *testing.F) {
	for _, s := range helloSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkHelloSNI(t, b) })
}

// BenchmarkHelloSNI is the early route's parse of Go's ClientHello.
func BenchmarkHelloSNI(b *testing.B) {
	hello := goHello(b, &tls.Config{ServerName: "pt.test", NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := helloSNI(hello); !ok {
			b.Fatal("no name")
		}
	}
}
