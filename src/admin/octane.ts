import { InvalidRequest } from '../errors.js';
import type { NewClientBody } from './schemas.js';

type OctaneBody = Extract<NewClientBody, { kind: 'service_account' }>;

/**
 * ALM Octane's create body (`{"data": [{client_secret, name, expiration, workspace_roles}]}`) as a
 * service account's input; undefined for keyport's own body. `data` comes alone.
 */
export function octaneKeyOf(body: NewClientBody, now = Date.now()) {
  if (body.kind !== 'service_account' || body.data === undefined) return undefined;
  const others = Object.keys(body).filter((k) => k !== 'kind' && k !== 'data');
  if (others.length) throw new InvalidRequest(others[0]!, 'is not a known field beside data');
  const [key] = (body as Required<Pick<OctaneBody, 'data'>>).data;
  let expiresInDays: number | undefined;
  if (key!.expiration !== undefined) {
    expiresInDays = Math.ceil((Date.parse(key!.expiration) - now) / 86_400_000);
    if (expiresInDays < 1) throw new InvalidRequest('data.0.expiration', 'must be at least a day ahead');
  }
  // The key's workspace roles are its roles (issue 28 item 2), each id one of GET /api/teams/:team/roles.
  const roles = key!.workspace_roles?.data.map((r) => r.id);
  return { name: key!.name, clientSecret: key!.client_secret, expiresInDays, ...(roles ? { roles } : {}) };
}
