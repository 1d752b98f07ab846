/**
 * The one form an email is stored and compared in, on every database:
 * Unicode NFC, trimmed, lower case. Comparison is then byte for byte, so
 * `adä@…` is never `ada@…` (MySQL's default collation would say it is).
 */
export function canonicalEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
