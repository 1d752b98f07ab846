// A resource server protected by @keyport/guard: the BugBrain curl works against it.
//
//   npx --no-install keyport resourceserveradd -name hello-api   # prints client_id, client_secret
//   KEYPORT_CLIENT_ID=… KEYPORT_CLIENT_SECRET=… node examples/hello-api.mjs
//   curl -H "Authorization: Bearer $KEY" http://localhost:4000/projects
//   curl -H "x-api-key: $KEY" http://localhost:4000/projects
//
// Plain node:http with Connect-style middleware; with Express it is
// `app.use(guard.express())` and `app.post('/runs', guard.express({ scopes: ['api:write'] }), handler)`.
import { createServer } from 'node:http';
import { keyportGuard } from '@keyport/guard';

const guard = keyportGuard({
  issuer: process.env.KEYPORT_ISSUER ?? 'http://localhost:3000',
  clientId: process.env.KEYPORT_CLIENT_ID,
  clientSecret: process.env.KEYPORT_CLIENT_SECRET,
});
const anyKey = guard.express();
const writers = guard.express({ scopes: ['api:write'] });

const json = (res, status, body) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  const route = `${req.method} ${new URL(req.url, 'http://x').pathname}`;
  const protect = route === 'POST /runs' ? writers : anyKey;
  protect(req, res, (err) => {
    if (err) return json(res, 500, { error: 'server_error' });
    if (route === 'GET /projects')
      return json(res, 200, { team_id: req.keyport.team_id, projects: [{ id: 1, name: 'Checkout' }] });
    if (route === 'POST /runs') return json(res, 201, { run: 42, by: req.keyport.client_id });
    return json(res, 404, { error: 'not_found' });
  });
});

const port = Number(process.env.PORT ?? 4000);
server.listen(port, () => console.log(`hello-api on http://localhost:${port}, protected by keyport`));
// On stop, the guard reports the calls it allowed from leases before the process ends.
process.once('SIGTERM', () => server.close(() => guard.close()));
