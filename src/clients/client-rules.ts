import { InvalidRequest } from '../errors.js';
import { printableName } from '../names.js';
import { ENVIRONMENTS, type Credits, type Environment } from './client.js';
import { OOB_REDIRECT_URI } from './kinds.js';
import { CLIENT_LIMITS } from './limits.js';

/** The checks of what a caller asks of a client, one wording for the admin API, the dashboard and the CLI. */

const DAY = 86_400;

export function checkName(name: string | undefined, fallback: string): string {
  const value = printableName(name ?? fallback, CLIENT_LIMITS.nameLength);
  if (value === undefined)
    throw new InvalidRequest(
      'name',
      `must be 1 to ${CLIENT_LIMITS.nameLength} printable characters, without control or bidirectional-override characters`,
    );
  return value;
}

export function checkEnvironment(environment: string | undefined): Environment {
  const value = environment ?? 'prod';
  if (!ENVIRONMENTS.includes(value as Environment))
    throw new InvalidRequest('environment', `must be one of ${ENVIRONMENTS.join(', ')}`);
  return value as Environment;
}

export function expiryFrom(days: number | undefined, now: number): number | null {
  if (days === undefined) return null;
  if (!Number.isInteger(days) || days < 1 || days > CLIENT_LIMITS.expiresInDaysMax) {
    throw new InvalidRequest('expires_in_days', `must be a whole number from 1 to ${CLIENT_LIMITS.expiresInDaysMax}`);
  }
  return now + days * DAY;
}

const MAX_CREDITS = CLIENT_LIMITS.creditsMax;

/** Credits as the admin API takes them: whole numbers, a day or month refill. */
export function checkCredits(credits: Credits | null | undefined): Credits | null {
  if (credits === undefined || credits === null) return null;
  if (!Number.isSafeInteger(credits.remaining) || credits.remaining < 0 || credits.remaining > MAX_CREDITS) {
    throw new InvalidRequest('credits.remaining', `must be a whole number from 0 to ${MAX_CREDITS}`);
  }
  const { refill } = credits;
  if (refill !== null && refill !== undefined) {
    if (refill.interval !== 'day' && refill.interval !== 'month')
      throw new InvalidRequest('credits.refill.interval', 'must be "day" or "month"');
    if (!Number.isSafeInteger(refill.amount) || refill.amount < 1 || refill.amount > MAX_CREDITS) {
      throw new InvalidRequest('credits.refill.amount', `must be a whole number from 1 to ${MAX_CREDITS}`);
    }
  }
  return { remaining: credits.remaining, refill: refill ?? null };
}

/** docs/contract.md: 10 to 30 printable ASCII characters with at least three of the four character classes. */
export function checkChosenSecret(secret: string): void {
  const { min, max } = CLIENT_LIMITS.chosenSecretLength;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (secret.length < min || secret.length > max || /[\u0000-\u001f\u007f]/.test(secret)) {
    throw new InvalidRequest('client_secret', `must be ${min} to ${max} printable characters`);
  }
  // A client sends its secret in a Basic header, which carries bytes no client encodes the same way past ASCII.
  if (!/^[\x20-\x7e]+$/.test(secret)) {
    throw new InvalidRequest(
      'client_secret',
      'must be printable ASCII (letters A-Z a-z, digits, space and !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~): clients send it in a Basic header',
    );
  }
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(secret)).length;
  if (classes < 3) {
    throw new InvalidRequest(
      'client_secret',
      'must mix at least three of: upper-case letters, lower-case letters, digits, other characters',
    );
  }
}

/**
 * RFC 8252 and OAuth 2.0 Security BCP: https redirects, http only on loopback
 * (native apps), the oob URN; never a fragment.
 */
export function checkRedirectUris(uris: readonly string[]): readonly string[] {
  if (uris.length > CLIENT_LIMITS.redirectUrisCount)
    throw new InvalidRequest('redirect_uris', `at most ${CLIENT_LIMITS.redirectUrisCount}`);
  for (const uri of uris) {
    if (uri === OOB_REDIRECT_URI) continue;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InvalidRequest('redirect_uris', `"${uri.slice(0, 100)}" is not a URL`);
    }
    const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
    if (url.hash || uri.includes('#')) throw new InvalidRequest('redirect_uris', 'must not have a fragment');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new InvalidRequest(
        'redirect_uris',
        'must be https, http on a loopback address, or urn:ietf:wg:oauth:2.0:oob',
      );
    }
    if (uri.length > CLIENT_LIMITS.redirectUriLength || /\s/.test(uri))
      throw new InvalidRequest(
        'redirect_uris',
        `must be under ${CLIENT_LIMITS.redirectUriLength} characters with no spaces`,
      );
  }
  return uris;
}
