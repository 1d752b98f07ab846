import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for keyport's HTML forms: an HMAC of what the form is bound to
 * (a session, a login cookie, an oidc-provider interaction), so nothing is
 * stored and a token made for one binding never passes for another. The
 * binding itself travels in a SameSite=Lax cookie (OWASP CSRF Prevention
 * Cheat Sheet, "Signed Double-Submit Cookie").
 */
export interface Csrf {
  /** The token to put in the form's hidden `csrf` field. */
  tokenFor(binding: string): string;
  /** Whether a submitted token is the one for this binding (constant time). */
  matches(given: string, binding: string): boolean;
}

export function createCsrf(key: string): Csrf {
  const tokenFor = (binding: string) => createHmac('sha256', key).update(binding).digest('base64url');
  return {
    tokenFor,
    matches(given, binding) {
      const a = Buffer.from(given);
      const b = Buffer.from(tokenFor(binding));
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
