import { kidOfJwk, pemFromJwk } from './public-keys.js';
import type { ClientService, CreatedClient } from './service.js';
import { InvalidRequest } from '../errors.js';

/**
 * A "new key" form (dashboard, console), read into the client service's
 * inputs: the service checks every rule, as for the CLI and the admin API.
 */
export async function createKeyFromForm(
  clientService: ClientService,
  teamId: number,
  field: (name: string) => string,
  fields: (name: string) => string[],
): Promise<CreatedClient> {
  const kind = field('kind');
  const name = field('name');
  const scopes = fields('scopes');
  if (kind === 'app') {
    const redirectUris = field('redirect_uris').split(/\s+/).filter(Boolean);
    return clientService.createApp({ teamId, name, scopes, redirectUris });
  }
  const expiry = field('expiry');
  let expiresInDays: number | undefined;
  if (expiry === 'date') {
    const at = Date.parse(`${field('expires_on')}T23:59:59Z`);
    if (Number.isNaN(at) || at <= Date.now()) throw new InvalidRequest('expires_on', 'choose a date in the future');
    expiresInDays = Math.ceil((at - Date.now()) / 86_400_000);
  } else if (expiry) expiresInDays = Number(expiry);
  const creditsText = field('credits').trim();
  const credits = creditsText ? { remaining: Number(creditsText), refill: null } : null;
  const common = { teamId, name, environment: field('environment') || 'prod', expiresInDays, scopes, credits };
  if (kind === 'service_account_jwt') {
    const text = field('public_key').trim();
    if (!text) throw new InvalidRequest('public_key', 'paste a PEM or JWK public key, or choose its file');
    if (text.startsWith('{')) {
      let jwk: object;
      try {
        jwk = JSON.parse(text) as object;
      } catch {
        throw new InvalidRequest('public_key', 'is neither PEM nor valid JWK JSON');
      }
      return clientService.createServiceAccount({
        ...common,
        publicKeyPem: pemFromJwk(jwk),
        publicKeyKid: kidOfJwk(jwk),
      });
    }
    return clientService.createServiceAccount({ ...common, publicKeyPem: text });
  }
  return clientService.createServiceAccount(common);
}
