import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  keysVersion,
  loadOrCreateKeys,
  readKeys,
  retireSigningKey,
  rotateSigningKey,
} from '../../src/persistence/signing-keys.js';

describe('signing keys on disk', () => {
  it('what a running server reads back creates nothing: missing files leave the keys in use alone', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'keyport-keys-')), 'keys');
    const first = await loadOrCreateKeys(dir);
    expect(readKeys(dir)).toEqual(first);
    rmSync(join(dir, 'signing-keys.json'));
    expect(readKeys(dir)).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['cookie-keys.json']);
  });

  it('rotate puts the new key first and changes the version every process watches; retire refuses the key signing now', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'keyport-keys-')), 'keys');
    const { jwks } = await loadOrCreateKeys(dir);
    const before = keysVersion(dir);
    const added = await rotateSigningKey(dir);
    expect(keysVersion(dir)).not.toBe(before);
    expect(readKeys(dir)!.jwks.keys.map((k) => k.kid)).toEqual([added.kid, jwks.keys[0]!.kid]);
    await expect(retireSigningKey(dir, added.kid!)).rejects.toThrow(/signing now/);
    await retireSigningKey(dir, jwks.keys[0]!.kid!);
    expect(readKeys(dir)!.jwks.keys.map((k) => k.kid)).toEqual([added.kid]);
    expect(existsSync(join(dir, 'signing-keys.json'))).toBe(true);
  });
});
