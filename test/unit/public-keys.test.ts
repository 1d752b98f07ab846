import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizePublicKey } from '../../src/clients/public-keys.js';
import { InvalidRequest } from '../../src/errors.js';

const pem = (key: { export(o: object): string | Buffer }, type: 'spki' | 'pkcs8' | 'pkcs1') =>
  key.export({ format: 'pem', type }).toString();

describe('public keys for private_key_jwt', () => {
  it('accepts RSA 2048 and EC P-256 public keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(normalizePublicKey(pem(rsa.publicKey, 'spki'))).toContain('BEGIN PUBLIC KEY');
    expect(normalizePublicKey(pem(rsa.publicKey, 'pkcs1'))).toContain('BEGIN PUBLIC KEY');
    expect(normalizePublicKey(pem(ec.publicKey, 'spki'))).toContain('BEGIN PUBLIC KEY');
  });

  it.each([
    [
      'a private key',
      () => pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'pkcs8'),
      /private key/,
    ],
    [
      'RSA under 2048 bits',
      () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, 'spki'),
      /at least 2048/,
    ],
    ['an Ed25519 key', () => pem(generateKeyPairSync('ed25519').publicKey, 'spki'), /RSA or EC/],
    [
      'an EC key on another curve',
      () => pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey, 'spki'),
      /P-256/,
    ],
    ['a file that is not a key', () => 'hello world', /not a PEM public key/],
  ])('refuses %s', (_name, make, message) => {
    expect(() => normalizePublicKey(make())).toThrow(InvalidRequest);
    expect(() => normalizePublicKey(make())).toThrow(message);
  });
});
