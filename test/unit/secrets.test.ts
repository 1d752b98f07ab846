import { describe, expect, it } from 'vitest';
import bcrypt from 'bcrypt';
import {
  generateClientId,
  generateClientSecret,
  hashSecret,
  secretHint,
  verifySecret,
} from '../../src/clients/secrets.js';

describe('client ids and secrets', () => {
  it('client ids are 16 random letters and digits', () => {
    const ids = new Set(Array.from({ length: 1000 }, generateClientId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
  });

  it("secrets read keyport_sk_<env>_<base58>, carry at least 128 bits and fit bcrypt's 72 bytes", () => {
    for (const env of ['prod', 'dev'] as const) {
      const secret = generateClientSecret(env);
      const random = secret.slice(`keyport_sk_${env}_`.length);
      expect(secret.startsWith(`keyport_sk_${env}_`)).toBe(true);
      expect(random).toMatch(/^[1-9A-HJ-NP-Za-km-z]+$/);
      expect(random.length * Math.log2(58)).toBeGreaterThanOrEqual(128);
      expect(Buffer.byteLength(secret)).toBeLessThanOrEqual(72);
    }
    expect(new Set(Array.from({ length: 1000 }, () => generateClientSecret('prod'))).size).toBe(1000);
  });

  it('the hint is the start of the random part', () => {
    expect(secretHint('keyport_sk_prod_AbCdEfGh')).toBe('AbCd');
  });

  it('hashes are bcrypt of cost 10 and verify', async () => {
    const hash = await hashSecret('s3cret-value');
    expect(hash).toMatch(/^\$2b\$10\$/);
    expect(await verifySecret('s3cret-value', hash)).toBe(true);
    expect(await verifySecret('s3cret-valuE', hash)).toBe(false);
  });

  it('$2a$ and $2y$ (htpasswd -nbBC 10) hashes verify', async () => {
    const hash = await bcrypt.hash('from-htpasswd', 10);
    expect(await verifySecret('from-htpasswd', hash.replace('$2b$', '$2y$'))).toBe(true);
    expect(await verifySecret('from-htpasswd', hash.replace('$2b$', '$2a$'))).toBe(true);
  });

  it('refuses empty and over-long secrets and malformed hashes without calling bcrypt', async () => {
    const hash = await bcrypt.hash('x', 10);
    expect(await verifySecret('', hash)).toBe(false);
    expect(await verifySecret('x'.repeat(1024), hash)).toBe(false);
    expect(await verifySecret('x', 'not-a-hash')).toBe(false);
  });
});
