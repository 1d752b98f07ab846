// The gateway check of @keyport/guard: answers the authorization sub-requests
// of a proxy (nginx auth_request, Envoy's HTTP ext_authz, Traefik's
// ForwardAuth) with the guard's own decision, `guard.check`: the same leases,
// pushed changes and answers as the Express and Koa middleware. See
// docs/gateway.md in keyport's repository.

/** Identity headers of an allowed call, for the proxy to pass to the API. */
function identityHeaders(identity) {
  return {
    'X-Keyport-Team-Id': identity.team_id === null || identity.team_id === undefined ? '' : String(identity.team_id),
    'X-Keyport-Client-Id': identity.client_id,
    'X-Keyport-Environment': identity.environment,
    'X-Keyport-Scopes': identity.scopes.join(' '),
    // What the key may do now (its own permissions and its roles'), space-separated.
    'X-Keyport-Permissions': (identity.permissions ?? []).join(' '),
  };
}

/** A JSON text safe in an HTTP header: ASCII only (anything else as a \u escape). */
function asciiJson(body) {
  return JSON.stringify(body).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A `--routes` table: `[{method?, path, scopes?, permissions?}]`. Throws a TypeError naming
 * the entry that is wrong.
 */
export function parseRoutes(table) {
  if (!Array.isArray(table)) throw new TypeError('routes: expected a JSON array of {method, path, scopes}');
  return table.map((route, i) => {
    const where = `routes[${i}]`;
    if (!route || typeof route !== 'object') throw new TypeError(`${where}: expected {method, path, scopes}`);
    const { method = '*', path, scopes = [], permissions = [] } = route;
    if (typeof method !== 'string' || !/^(\*|[A-Za-z]+)$/.test(method))
      throw new TypeError(`${where}.method: expected an HTTP method or "*"`);
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError(`${where}.path: expected a path starting with /`);
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && /^[\x21-\x7e]+$/.test(s)))
      throw new TypeError(`${where}.scopes: expected an array of scope names`);
    if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string' && PERMISSION.test(p)))
      throw new TypeError(`${where}.permissions: expected an array of resource:action`);
    return { method: method.toUpperCase(), path, scopes: [...scopes], permissions: [...permissions] };
  });
}

/** A permission a route may require: `resource:action`, as keyport's catalogue has them. */
const PERMISSION = /^[a-z][a-z0-9_-]{0,49}:[a-z][a-z0-9_-]{0,49}$/;

/** A header's list (space- or comma-separated) as a set. */
const listOf = (value) => new Set((value ?? '').split(/[\s,]+/).filter(Boolean));

/** Whether `prefix` is a prefix of the path `path` at a segment boundary (`/runs` matches `/runs/7`, not `/runsx`). */
function under(path, prefix) {
  if (prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The first value of a header, or undefined. */
function header(req, name) {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The caller's address as the proxy saw it: X-Real-IP, else the address the proxy appended to X-Forwarded-For. */
function callerAddress(req) {
  const real = header(req, 'x-real-ip')?.trim();
  if (real) return real;
  const forwarded = header(req, 'x-forwarded-for')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (forwarded?.length) return forwarded[forwarded.length - 1];
  return req.socket?.remoteAddress;
}

/**
 * The request handler of `keyport-guard serve`: every path and method is a
 * check of the original request. `guard` is a keyportGuard; `routes` a parsed
 * path table.
 */
export function createGatewayHandler({ guard, routes = [] }) {
  return (req, res) => {
    const url = header(req, 'x-forwarded-uri') ?? header(req, 'x-original-uri') ?? req.url ?? '/';
    const method = (header(req, 'x-forwarded-method') ?? header(req, 'x-original-method') ?? req.method).toUpperCase();
    const path = new URL(url, 'http://gateway.invalid').pathname;
    const needed = listOf(header(req, 'x-keyport-required-scopes'));
    const neededPermissions = listOf(header(req, 'x-keyport-required-permissions'));
    for (const route of routes)
      if ((route.method === '*' || route.method === method) && under(path, route.path)) {
        for (const scope of route.scopes) needed.add(scope);
        for (const permission of route.permissions) neededPermissions.add(permission);
      }
    const nginx = header(req, 'x-keyport-proxy')?.toLowerCase() === 'nginx';

    guard.check({ rawHeaders: req.rawHeaders, url, ip: callerAddress(req) }, [...needed], [...neededPermissions]).then(
      (verdict) => {
        for (const [name, value] of Object.entries(verdict.headers ?? {})) res.setHeader(name, value);
        res.setHeader('Cache-Control', 'no-store');
        if (verdict.identity) {
          for (const [name, value] of Object.entries(identityHeaders(verdict.identity))) res.setHeader(name, value);
          res.statusCode = 200;
          res.end();
          return;
        }
        const text = asciiJson(verdict.body);
        res.setHeader('X-Keyport-Status', String(verdict.status));
        res.setHeader('X-Keyport-Body', text);
        res.setHeader('Content-Type', 'application/json');
        // nginx's auth_request passes only 2xx, 401 and 403 on (anything else becomes a 500).
        res.statusCode = nginx ? (verdict.status === 401 ? 401 : 403) : verdict.status;
        res.end(text);
      },
      () => {
        // Never a call let through: whatever went wrong is a 503.
        const text = asciiJson({
          error: 'service_unavailable',
          message: 'API key verification is unavailable; try again',
        });
        res.statusCode = nginx ? 403 : 503;
        res.setHeader('Retry-After', '1');
        res.setHeader('X-Keyport-Status', '503');
        res.setHeader('X-Keyport-Body', text);
        res.setHeader('Content-Type', 'application/json');
        res.end(text);
      },
    );
  };
}
