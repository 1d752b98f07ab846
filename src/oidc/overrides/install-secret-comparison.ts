import Provider from 'oidc-provider';
import { keyportMetadata } from '../../clients/metadata.js';
import { keyDigest, looksGenerated } from '../../clients/secrets.js';
import type { ClientStore } from '../../clients/store.js';
import { noteAuthFailure } from '../../observability/auth-failure-reasons.js';
import { providerSecretMatches, type OAuthLimits } from '../oauth-guard.js';
import { clientAuthenticated } from '../client-authenticated.js';

/*
 * Why: keyport stores bcrypt hashes (and a key digest) where oidc-provider
 * expects the secret in clear, and keeps the previous secret valid during a
 * rotation's grace period.
 * Changes: oidc-provider lib/models/client.js, `Client.prototype.compareClientSecret`
 * (a constant-time equality with the stored secret upstream), called from
 * lib/shared/client_auth.js for client_secret_basic and client_secret_post.
 */
export function installSecretComparison(
  provider: Provider,
  deps: { readonly limits: OAuthLimits; readonly clients: ClientStore },
): void {
  const { limits, clients } = deps;
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(actual: string) {
    // A secret verified before against the same stored hash needs no bcrypt;
    // a throttled client_id is refused either way (see secretMatches).
    const meta = keyportMetadata(this);
    const matches = await providerSecretMatches(
      limits,
      this.clientId,
      actual,
      [this.clientSecret, meta.previous_secret_hash],
      meta.key_digest,
    );
    if (!matches) {
      noteAuthFailure(Provider.ctx?.state, 'wrong_secret');
      return false;
    }
    await clientAuthenticated(limits, this);
    // A service account's key made before keys had digests gains one when its
    // current secret matches, so it works as an API key from now on.
    if (
      meta.kind === 'service_account' &&
      !meta.has_key_digest &&
      looksGenerated(actual) &&
      this.clientSecret &&
      limits.verified.has(this.clientId, this.clientSecret, actual)
    ) {
      await clients.setKeyDigestIfMissing(this.clientId, keyDigest(actual), this.clientSecret);
    }
    return true;
  };
}
