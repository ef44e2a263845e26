package edge

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// nodeApp is a Node.js app terminating its own TLS: tls.createServer, or, with "proxy",
// a net server reading the PROXY v2 header before handing the socket to a TLSSocket. It
// answers each chunk with "node <client address announced or -> <chunk>".
const nodeApp = `
const fs = require('fs'), net = require('net'), tls = require('tls'), {Duplex} = require('stream');
const [key, cert, mode] = process.argv.slice(2);
const opts = {key: fs.readFileSync(key), cert: fs.readFileSync(cert)};
const answer = (t, client) => { t.on('data', d => t.write('node ' + client + ' ' + d)); t.on('error', () => {}); };
let srv;
if (mode === 'proxy') {
  const secureContext = tls.createSecureContext(opts);
  srv = net.createServer(sock => {
    let buf = Buffer.alloc(0);
    const onData = chunk => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 16 || buf.length < 16 + buf.readUInt16BE(14)) return;
      sock.removeListener('data', onData);
      sock.pause();
      const len = buf.readUInt16BE(14);
      const client = buf[13] === 0x11 ? [...buf.subarray(16, 20)].join('.') + ':' + buf.readUInt16BE(24) : '?';
      // A TLSSocket over a net.Socket reads its native handle, not what was already read:
      // a Duplex carries the bytes that came with the header, then the rest.
      const d = new Duplex({read() {}, write(c, e, cb) { sock.write(c, cb); }, final(cb) { sock.end(); cb(); }});
      d.push(buf.subarray(16 + len));
      sock.on('data', x => d.push(x));
      sock.on('end', () => d.push(null));
      answer(new tls.TLSSocket(d, {isServer: true, secureContext}), client);
      sock.resume();
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  });
} else {
  srv = tls.createServer(opts, t => answer(t, '-'));
}
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`

// startNodeApp runs nodeApp with a certificate of the test CA for names and returns its
// address and certificate (DER).
func startNodeApp(t *testing.T, mode string, names ...string) (addr string, der []byte) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	c := cert(t, names...)
	dir := t.TempDir()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	script := filepath.Join(dir, "app.js")
	os.WriteFile(script, []byte(nodeApp), 0o600)
	cmd := exec.Command(node, script, write("key.pem", "PRIVATE KEY", key), write("cert.pem", "CERTIFICATE", c.Certificate[0]), mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("node app: %v", err)
	}
	return "127.0.0.1:" + strings.TrimSpace(port), c.Certificate[0]
}

// The Node.js app behind the edge: the client sees its certificate, and with the PROXY
// header it learns the client's address.
func TestPassthroughNodeApp(t *testing.T) {
	plain, plainCert := startNodeApp(t, "", "node.test")
	proxied, proxiedCert := startNodeApp(t, "proxy", "proxied.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, testSite(t, "web", "web.test"),
		ptSite("node", site.Passthrough{Upstreams: []string{plain}}, "node.test"),
		ptSite("proxied", site.Passthrough{Upstreams: []string{proxied}, ProxyProtocol: true}, "proxied.test"))
	for _, tc := range []struct {
		name string
		der  []byte
		want func(local string) string
	}{
		{"node.test", plainCert, func(string) string { return "node - hi" }},
		{"proxied.test", proxiedCert, func(local string) string { return "node " + local + " hi" }},
	} {
		c, err := ptDial(t, srv.Addr(), tc.name)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !bytes.Equal(c.ConnectionState().PeerCertificates[0].Raw, tc.der) {
			t.Errorf("%s: not the node app's certificate", tc.name)
		}
		if got, err := echo(c, bufio.NewReader(c), "hi"); err != nil || got != tc.want(c.LocalAddr().String()) {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want(c.LocalAddr().String()))
		}
		c.Close()
	}
}
