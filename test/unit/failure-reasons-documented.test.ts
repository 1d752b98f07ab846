import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILURE_REASONS } from '../../src/observability/auth-failure-reasons.js';
import { RATE_LIMIT_REASONS } from '../../src/observability/rate-limit-reasons.js';

/**
 * Issue 24, item 11: the reasons keyport logs (and labels its metrics with)
 * are the documented ones, in README.md and docs/contract.md alike, and the
 * code sets no reason outside the closed lists.
 */
const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The backticked names of the one sentence that starts with `opening`, up to its full stop, outside parentheses. */
function documented(text: string, opening: string): string[] {
  const at = text.indexOf(opening);
  expect(at, `"${opening}" is documented`).toBeGreaterThanOrEqual(0);
  expect(text.indexOf(opening, at + 1), `"${opening}" is documented once`).toBe(-1);
  const sentence = text.slice(at, text.indexOf('.\n', at) >= 0 ? text.indexOf('.\n', at) : undefined);
  // What a reason means, in parentheses, is not a reason.
  let listed = sentence;
  while (/\([^()]*\)/.test(listed)) listed = listed.replace(/\([^()]*\)/g, '');
  return [...listed.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
}

/** Every .ts file under src/. */
function sources(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('failure reasons: code and documents agree', () => {
  for (const doc of ['README.md', 'docs/contract.md']) {
    it(`${doc} lists exactly the client authentication failure reasons the code can log`, () => {
      expect(documented(read(doc), 'Client authentication failure reasons').sort()).toEqual(
        [...AUTH_FAILURE_REASONS].sort(),
      );
    });
    it(`${doc} lists exactly the rate-limit rejection reasons the code can count`, () => {
      expect(documented(read(doc), 'Rate-limit rejection reasons').sort()).toEqual([...RATE_LIMIT_REASONS].sort());
    });
  }

  it('no reason is set outside the closed lists: every one goes through noteAuthFailure or noteRateLimit', () => {
    const lists = ['auth-failure-reasons.ts', 'rate-limit-reasons.ts'];
    const setByHand = sources()
      .filter((path) => !lists.some((list) => path.endsWith(list)))
      .flatMap((path) =>
        readFileSync(path, 'utf8')
          .split('\n')
          .filter((line) => /\.(authFailureReason|limitReason)\s*=[^=]/.test(line))
          .map((line) => `${path.slice(ROOT.length + 1)}: ${line.trim()}`),
      );
    expect(setByHand).toEqual([]);
  });

  it('every listed reason is one the code sets somewhere (none is documented but dead)', () => {
    const code = sources()
      .filter((path) => !path.endsWith('auth-failure-reasons.ts') && !path.endsWith('rate-limit-reasons.ts'))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    for (const reason of [...AUTH_FAILURE_REASONS, ...RATE_LIMIT_REASONS])
      expect(code.includes(`'${reason}'`), reason).toBe(true);
  });
});
