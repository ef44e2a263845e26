// hello-tls.js: the edge demo's sample app that terminates TLS itself, for a passthrough site.
// No npm dependencies:
//   PORT=3443 APP_NAME=tls-app TLS_CERT=cert.pem TLS_KEY=key.pem node hello-tls.js
// It answers every request over HTTPS with its name and port and the name the client asked
// for (SNI). With PROXY_PROTOCOL=v2 it expects a PROXY protocol v2 header before the TLS
// handshake (a site with passthrough: proxy_protocol: true) and reports the client address
// the header carries. The canonical copy is cmd/edgectl/demoapp/hello-tls.js (embedded in
// edgectl); examples/apps/hello-tls.js is a symlink to it.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const stream = require('stream');
const tls = require('tls');

const port = Number(process.env.PORT || 3443);
const host = process.env.HOST || '127.0.0.1';
const name = process.env.APP_NAME || 'hello-tls';
const proxyProtocol = process.env.PROXY_PROTOCOL === 'v2';
if (!process.env.TLS_CERT || !process.env.TLS_KEY) {
  console.error('hello-tls.js: set TLS_CERT and TLS_KEY to the PEM files of its certificate and key');
  process.exit(2);
}

const tlsOptions = {
  cert: fs.readFileSync(process.env.TLS_CERT),
  key: fs.readFileSync(process.env.TLS_KEY),
};

function hello(req, res) {
  const lines = [
    `hello from ${name} (node, port ${port}, TLS terminated by the app)`,
    `you asked for ${req.method} ${req.headers.host || ''}${req.url} (SNI ${req.socket.servername || 'none'})`,
  ];
  const viaProxy = req.socket.proxyClient;
  if (viaProxy) {
    lines.push(`client (PROXY v2): ${viaProxy}`);
  }
  const body = lines.join('\n') + '\n';
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

// Without PROXY protocol: an HTTPS server on the port. With it: an HTTP server fed the TLS
// connections made after each PROXY header (see below).
const server = proxyProtocol ? http.createServer(hello) : https.createServer(tlsOptions, hello);
const secureContext = tls.createSecureContext(tlsOptions);

// PROXY protocol v2: a 12-byte signature, version/command, family, a 2-byte length, then
// the addresses (IPv4: 4+4+2+2 bytes; IPv6: 16+16+2+2).
const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function parseProxyV2(buf) {
  if (buf.length < 16) return null; // need more
  if (!buf.subarray(0, 12).equals(SIG) || (buf[12] >> 4) !== 2) throw new Error('not a PROXY v2 header');
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return null;
  const a = buf.subarray(16, 16 + len);
  let client = 'local';
  if ((buf[12] & 0x0f) === 1 && (buf[13] >> 4) === 1 && a.length >= 12) {
    client = `${a[0]}.${a[1]}.${a[2]}.${a[3]}:${a.readUInt16BE(8)}`;
  } else if ((buf[12] & 0x0f) === 1 && (buf[13] >> 4) === 2 && a.length >= 36) {
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(a.readUInt16BE(i).toString(16));
    client = `[${groups.join(':')}]:${a.readUInt16BE(32)}`;
  }
  return { client, rest: buf.subarray(16 + len) };
}

// With PROXY_PROTOCOL=v2 a plain TCP listener reads the header, then hands the HTTP
// server a TLS connection over a stream of the bytes after it (TLS over the net.Socket
// itself would read from its handle, skipping the bytes already read past the header).
const front = !proxyProtocol ? server : net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  const timer = setTimeout(() => sock.destroy(), 5000);
  const onData = (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let h;
    try {
      h = parseProxyV2(buf);
    } catch (e) {
      console.error(`${name}: ${e.message}; closing the connection`);
      clearTimeout(timer);
      sock.destroy();
      return;
    }
    if (!h) return;
    clearTimeout(timer);
    sock.removeListener('data', onData);
    const tlsSock = new tls.TLSSocket(afterHeader(sock, h), { isServer: true, secureContext, ALPNProtocols: ['http/1.1'] });
    tlsSock.proxyClient = h.client;
    tlsSock.on('error', () => sock.destroy());
    server.emit('connection', tlsSock);
  };
  sock.on('data', onData);
});

// afterHeader is a stream of sock's bytes from the end of the PROXY header on.
function afterHeader(sock, h) {
  const s = new stream.Duplex({
    read() { sock.resume(); },
    write(chunk, enc, cb) { sock.write(chunk, enc, cb); },
    final(cb) { sock.end(); cb(); },
    destroy(err, cb) { sock.destroy(); cb(err); },
  });
  if (h.rest.length) s.push(h.rest);
  sock.on('data', (d) => { if (!s.push(d)) sock.pause(); });
  sock.on('end', () => s.push(null));
  sock.on('close', () => s.destroy());
  sock.on('error', () => {});
  return s;
}

front.listen(port, host, () => {
  console.log(`${name} listening on https://${host}:${port}${proxyProtocol ? ' (expects PROXY v2)' : ''}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => front.close(() => process.exit(0)));
}
