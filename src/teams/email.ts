/**
 * The one form an email is stored and compared in, on every database:
 * Unicode NFC, trimmed, lower case. Comparison is then byte for byte, so
 * `adä@…` is never `ada@…` (MySQL's default collation would say it is).
 */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/** Whether a canonical email looks like one: a local part, one @, a domain. */
export const isEmail = (email: string): boolean => EMAIL.test(email);

export function canonicalEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
