import { describe, expect, it } from 'vitest';
import { createVerifiedSecrets } from '../../src/clients/verified-secrets.js';

describe('remembered secret verifications', () => {
  it('remembers a (client, hash, secret) triple and nothing near it', () => {
    const cache = createVerifiedSecrets();
    cache.remember('c1', '$2b$10$hash', 'secret');
    expect(cache.has('c1', '$2b$10$hash', 'secret')).toBe(true);
    expect(cache.has('c1', '$2b$10$hash', 'secreT')).toBe(false);
    expect(cache.has('c1', '$2b$10$other', 'secret')).toBe(false);
    expect(cache.has('c2', '$2b$10$hash', 'secret')).toBe(false);
  });

  it('forgets after its time to live', () => {
    const cache = createVerifiedSecrets({ ttlMs: 1000 });
    cache.remember('c', 'h', 's', 0);
    expect(cache.has('c', 'h', 's', 999)).toBe(true);
    expect(cache.has('c', 'h', 's', 1000)).toBe(false);
  });

  it('is bounded, dropping the oldest first', () => {
    const cache = createVerifiedSecrets({ maxEntries: 2 });
    cache.remember('a', 'h', 's');
    cache.remember('b', 'h', 's');
    cache.remember('c', 'h', 's');
    expect(cache.size).toBe(2);
    expect(cache.has('a', 'h', 's')).toBe(false);
    expect(cache.has('c', 'h', 's')).toBe(true);
  });
});
