import { describe, expect, it } from 'vitest';
import { normalizeGoStyleFlags } from '../../src/cli/argv.js';

const known = new Set(['team', 'public-key', 'json', 'conf', 'password']);

describe('Go-style flags', () => {
  it('rewrites single-dash long flags to GNU style', () => {
    expect(normalizeGoStyleFlags(['serviceaccountadd', '-team', '42', '-public-key', 'k.pem', '-json'], known)).toEqual(
      ['serviceaccountadd', '--team', '42', '--public-key', 'k.pem', '--json'],
    );
  });

  it('keeps -flag=value together', () => {
    expect(normalizeGoStyleFlags(['-team=42'], known)).toEqual(['--team=42']);
  });

  it('leaves GNU flags, unknown words and values alone', () => {
    expect(normalizeGoStyleFlags(['--team', '1', '-password', '-secretish', '-x'], known)).toEqual([
      '--team',
      '1',
      '--password',
      '-secretish',
      '-x',
    ]);
  });
});
