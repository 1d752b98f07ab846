import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * keyport signs webhooks, so it must keep each endpoint's secret: sealed with
 * AES-256-GCM under a key derived (HKDF-SHA256) from the cookie keys in
 * KEYS_DIR, never stored in clear. Sealed by the newest cookie key; any key
 * still listed opens it, so a cookie-key rotation keeps old endpoints working.
 */
export interface SecretBox {
  seal(secret: string): string;
  open(sealed: string): string;
}

const INFO = 'keyport webhook endpoint secret v1';

export function createSecretBox(cookieKeys: () => readonly string[]): SecretBox {
  const derive = (material: string) => {
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), Buffer.alloc(0), INFO, 32));
    return { key, id: createHash('sha256').update(key).digest('base64url').slice(0, 8) };
  };
  return {
    seal(secret) {
      const { key, id } = derive(cookieKeys()[0]!);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return [
        'v1',
        id,
        iv.toString('base64url'),
        sealed.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed) {
      const [version, id, iv, data, tag] = sealed.split('.');
      const match = cookieKeys()
        .map(derive)
        .find((k) => k.id === id);
      if (version !== 'v1' || !match || !iv || !data || !tag)
        throw new Error('a webhook secret was sealed by a cookie key no longer in KEYS_DIR');
      const decipher = createDecipheriv('aes-256-gcm', match.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** A new Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;
