// The API of scenario (f): a hello-world endpoint, behind @keyport/guard
// (HELLO_GUARD=1; HELLO_JWT=1 also checks JWT access tokens, scenario (h)) or bare,
// on HELLO_PORT.
import { createServer } from 'node:http';
import { keyportGuard } from '@keyport/guard';

const guarded = process.env.HELLO_GUARD === '1';
const guard = guarded
  ? keyportGuard({
      issuer: process.env.KEYPORT_ISSUER,
      clientId: process.env.KEYPORT_CLIENT_ID,
      clientSecret: process.env.KEYPORT_CLIENT_SECRET,
      // (h): JWT access tokens checked here with keyport's keys.
      jwt: process.env.HELLO_JWT === '1',
    }).express()
  : (_req, _res, next) => next();

const server = createServer((req, res) =>
  guard(req, res, () => {
    res.setHeader('content-type', 'application/json');
    res.end('{"hello":"world"}');
  }),
);
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.HELLO_PORT), () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
