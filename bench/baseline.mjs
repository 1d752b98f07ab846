// The baseline of `npm run bench`: a bare oidc-provider, the same version
// keyport runs, with its in-memory adapter, plaintext client secrets and the
// same features (client credentials, private_key_jwt, introspection,
// revocation, one resource indicator). One process, as oidc-provider's
// in-memory adapter cannot be shared between processes.
//
// Reads its clients from the JSON file named by BASELINE_CLIENTS and
// listens on BASELINE_PORT; prints "ready" when it listens.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const API = 'urn:keyport:api';
const SCOPES = ['api:read', 'api:write', 'keys:manage'];
const port = Number(process.env.BASELINE_PORT);
const { clients, jwks } = JSON.parse(readFileSync(process.env.BASELINE_CLIENTS, 'utf8'));

const provider = new Provider(`http://localhost:${port}`, {
  clients,
  jwks,
  cookies: { keys: ['bench-baseline-cookie-key-not-secret'] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256'] },
  scopes: ['openid', 'offline_access', ...SCOPES],
  responseTypes: ['code'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: SCOPES.join(' '), accessTokenFormat: 'opaque', audience: API }),
    },
  },
  ttl: { AccessToken: 3600, ClientCredentials: 3600 },
  clockTolerance: 60,
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
