import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';

/**
 * TOTP (RFC 6238, otplib's authenticator: SHA-1, 30 s, 6 digits) for console
 * staff. The secret is sealed with AES-256-GCM under a key the server derives
 * from its cookie keys, so a copy of the table holds no usable secret.
 */
export interface TotpSealer {
  newSecret(): string;
  seal(secret: string): string;
  unseal(sealed: string): string | undefined;
  /**
   * The time step (RFC 6238's T, 30 s) whose code `code` is, within ±1 step of
   * now for clock drift; undefined when it is none of them. The caller accepts
   * each step once (StaffService.useTotpStep).
   */
  stepOf(sealed: string, code: string): number | undefined;
  /** The otpauth:// URI an authenticator app reads from the QR code. */
  uri(email: string, secret: string): string;
}

export function createTotpSealer(key: string): TotpSealer {
  const aes = createHash('sha256').update(`keyport staff totp\0${key}`).digest();
  const totp = authenticator.clone({ window: 1 });
  const unseal = (sealed: string) => {
    const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !tag || !body) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', aes, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  };
  return {
    newSecret: () => totp.generateSecret(20),
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', aes, iv);
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
    },
    unseal,
    stepOf(sealed, code) {
      const secret = unseal(sealed);
      const digits = code.replace(/\s/g, '');
      if (!secret || !/^\d{6}$/.test(digits)) return undefined;
      const now = Date.now();
      const delta = totp.clone({ epoch: now }).checkDelta(digits, secret);
      return delta === null ? undefined : Math.floor(now / 30_000) + delta;
    },
    uri: (email, secret) => totp.keyuri(email, 'keyport console', secret),
  };
}
