import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { addressRefusal, allowsAddress } from '../clients/allowed-ips.js';
import { keyportMetadata } from '../clients/metadata.js';
import type { OAuthLimits } from './oauth-guard.js';

/** 403 inside the OAuth surface: the key may not be used from this address (docs/contract.md, allowed_ips). */
export class AddressNotAllowed extends errors.OIDCProviderError {
  constructor(address: string | undefined) {
    super(403, 'insufficient_permissions');
    (this as unknown as { error_description: string }).error_description = addressRefusal(address);
  }
}

/**
 * A key with an address allowlist gets tokens only from an address it names:
 * checked at /token once the client proved who it is, before its budget is
 * spent. The address is `ctx.ip`, the one `trusted_proxies` yields (app.ts),
 * never a header an outsider could set. The refusal is counted in the key's usage.
 */
export function refuseUnlistedAddress(limits: OAuthLimits, client: { clientId: string; metadata(): object }): void {
  const ctx = Provider.ctx as KoaContextWithOIDC | undefined;
  if (!ctx || ctx.oidc?.route !== 'token') return;
  const allowed = keyportMetadata(client).allowed_ips ?? [];
  if (allowsAddress(allowed, ctx.ip)) return;
  limits.keyUsage?.record(client.clientId, 'forbidden_ip', ctx.ip);
  throw new AddressNotAllowed(ctx.ip);
}
