// hello.js: the edge demo's sample app. No npm dependencies: `PORT=3001 APP_NAME=app-1 node hello.js`.
// It answers every request with its name and port, and the X-Forwarded-* headers the edge added,
// so you can see which upstream served you and what the edge told it about the client.
// The canonical copy is cmd/edgectl/demoapp/hello.js (embedded in edgectl); examples/apps/hello.js
// is kept identical by a test.
'use strict';
const http = require('http');

const port = Number(process.env.PORT || 3001);
const host = process.env.HOST || '127.0.0.1';
const name = process.env.APP_NAME || 'hello';

const server = http.createServer((req, res) => {
  const lines = [
    `hello from ${name} (node, port ${port})`,
    `you asked for ${req.method} ${req.headers.host || ''}${req.url}`,
  ];
  for (const h of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']) {
    if (req.headers[h] !== undefined) {
      lines.push(`${h}: ${req.headers[h]}`);
    }
  }
  const body = lines.join('\n') + '\n';
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Powered-By': 'hello.js',
  });
  res.end(body);
});

server.listen(port, host, () => {
  console.log(`${name} listening on http://${host}:${port}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
