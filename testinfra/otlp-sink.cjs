// A real OTLP receiver (@elastic/mockotlpserver) for the gateway's tests, on loopback only.
// Prints "OTLP_READY http=<url> grpc=<url> query=<url>"; GET <query>/spans lists received spans, POST /reset clears.
const http = require('node:http');
const { MockOtlpServer, normalizeTrace } = require('@elastic/mockotlpserver');

const spans = [];
function onTrace(raw) {
  const req = normalizeTrace(raw);
  for (const rs of req.resourceSpans || []) {
    const resource = rs.resource?.attributes || {};
    for (const ss of rs.scopeSpans || []) for (const s of ss.spans || []) spans.push({ ...s, scope: ss.scope?.name, service: resource['service.name'] });
  }
}

(async () => {
  const otlp = new MockOtlpServer({ logLevel: 'warn', services: ['http', 'grpc'], httpHostname: '127.0.0.1', httpPort: 0,
    grpcHostname: '127.0.0.1', grpcPort: 0, onTrace });
  await otlp.start();
  const query = http.createServer((req, res) => {
    if (req.url === '/spans') { res.setHeader('content-type', 'application/json'); return res.end(JSON.stringify(spans)); }
    if (req.url === '/reset' && req.method === 'POST') { spans.length = 0; return res.end('ok'); }
    res.statusCode = 404; res.end();
  });
  await new Promise((r) => query.listen(0, '127.0.0.1', r));
  console.log(`OTLP_READY http=${otlp.httpUrl} grpc=${otlp.grpcUrl} query=http://127.0.0.1:${query.address().port}`);
  const stop = async () => { query.close(); await otlp.close(); process.exit(0); };
  process.on('SIGTERM', stop); process.on('SIGINT', stop);
})();
