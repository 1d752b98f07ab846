#!/usr/bin/env node
// keyport-guard serve --issuer URL --listen HOST:PORT [--routes FILE] [--jwt]
// The gateway check: answers nginx auth_request, Envoy ext_authz (HTTP) and
// Traefik ForwardAuth sub-requests with @keyport/guard's decision. The
// resource server's credentials come from KEYPORT_CLIENT_ID and
// KEYPORT_CLIENT_SECRET. See docs/gateway.md in keyport's repository.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { keyportGuard } from '../index.js';
import { createGatewayHandler, parseRoutes } from '../gateway.js';

const USAGE =
  'usage: KEYPORT_CLIENT_ID=… KEYPORT_CLIENT_SECRET=… keyport-guard serve --issuer URL --listen HOST:PORT [--routes FILE] [--timeout-ms N] [--jwt]';

function fail(message) {
  process.stderr.write(`keyport-guard: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      issuer: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:9000' },
      routes: { type: 'string' },
      'timeout-ms': { type: 'string', default: '2000' },
      // JWT access tokens for this resource server (resourceserveradd --jwt), checked here with keyport's keys.
      jwt: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
  });
} catch (err) {
  fail(err.message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (positionals[0] !== 'serve' || positionals.length !== 1) fail('the command is "serve"');
if (!values.issuer || !URL.canParse(values.issuer)) fail("--issuer needs keyport's URL");
const clientId = process.env.KEYPORT_CLIENT_ID;
const clientSecret = process.env.KEYPORT_CLIENT_SECRET;
if (!clientId || !clientSecret)
  fail("set KEYPORT_CLIENT_ID and KEYPORT_CLIENT_SECRET (a resource server's credentials)");
const listen = /^(.+):(\d{1,5})$/.exec(values.listen);
if (!listen || Number(listen[2]) > 65535) fail('--listen needs HOST:PORT');
const host = listen[1].replace(/^\[(.*)\]$/, '$1');
const timeoutMs = Number(values['timeout-ms']);
if (!Number.isInteger(timeoutMs) || timeoutMs < 1) fail('--timeout-ms needs a positive whole number');

let routes = [];
if (values.routes) {
  try {
    routes = parseRoutes(JSON.parse(readFileSync(values.routes, 'utf8')));
  } catch (err) {
    fail(`--routes ${values.routes}: ${err.message}`);
  }
}

const guard = keyportGuard({
  issuer: values.issuer,
  clientId,
  clientSecret,
  timeoutMs,
  jwt: values.jwt,
  // Never a key in a log line: only why keyport could not be reached.
  onError: (err) => process.stderr.write(`keyport-guard: ${err?.message ?? err}\n`),
});
const server = createServer(createGatewayHandler({ guard, routes }));
server.keepAliveTimeout = 65_000;
server.on('error', (err) => fail(err.message));
server.listen(Number(listen[2]), host, () => {
  const { address, port } = server.address();
  const shown = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(`keyport-guard listening on http://${shown}:${port}\n`);
});

async function stop() {
  server.close();
  server.closeIdleConnections();
  // Reports the calls leases served before going.
  await guard.close();
  process.exit(0);
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
