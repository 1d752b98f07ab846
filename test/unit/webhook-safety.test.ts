import { describe, expect, it } from 'vitest';
import { guardedLookup, isPublicAddress, literalHostAllowed } from '../../src/events/webhook-addresses.js';
import { createSecretBox, newWebhookSecret } from '../../src/events/webhook-secrets.js';

describe('webhook addresses (server-side request forgery)', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '224.0.0.1',
  ])('%s is not public', (address) => expect(isPublicAddress(address)).toBe(false));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('%s is public', (address) =>
    expect(isPublicAddress(address)).toBe(true),
  );

  it('a literal private host is refused at delivery unless allowed', () => {
    expect(literalHostAllowed(new URL('https://[::1]/h'), false)).toBe(false);
    expect(literalHostAllowed(new URL('https://169.254.169.254/h'), false)).toBe(false);
    expect(literalHostAllowed(new URL('http://127.0.0.1/h'), true)).toBe(true);
  });

  it('a name that resolves to loopback is refused at connection time (DNS rebinding)', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup(false)('localhost', {}, (e) => resolve(e)),
    );
    expect(err?.code).toBe('EPRIVATE');
    const allowed = await new Promise<unknown>((resolve) =>
      guardedLookup(true)('localhost', {}, (e, address) => resolve(e ?? address)),
    );
    expect(allowed).toMatch(/^(127\.0\.0\.1|::1)$/);
  });
});

describe('sealed webhook secrets', () => {
  it('a sealed secret holds no clear text, opens with the key that sealed it, and after a cookie-key rotation', () => {
    const secret = newWebhookSecret();
    const keys = ['old-cookie-key-0123456789abcdef'];
    const box = createSecretBox(() => keys);
    const sealed = box.seal(secret);
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed)).toBe(secret);
    keys.unshift('new-cookie-key-0123456789abcdef');
    expect(box.open(sealed)).toBe(secret);
    expect(box.open(box.seal(secret))).toBe(secret);
  });

  it('a tampered or foreign sealed secret does not open', () => {
    const box = createSecretBox(() => ['cookie-key-a-0123456789abcdef']);
    const sealed = box.seal(newWebhookSecret());
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => createSecretBox(() => ['cookie-key-b-0123456789abcdef']).open(sealed)).toThrow(
      /no longer in KEYS_DIR/,
    );
  });
});
