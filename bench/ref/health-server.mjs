// Reference (a): the least a Node process can do to answer /health/live.
// Plain node:http, one process, same JSON as the service.
import http from 'node:http';

const port = Number(process.env.PORT);
const body = JSON.stringify({ status: 'ok' });

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/v1/health/live') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-length': 0 });
  res.end();
});

server.listen(port, '127.0.0.1', () => process.send?.({ ready: port }));
// Never outlive the harness.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
