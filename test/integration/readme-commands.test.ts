import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every document a new user copies commands from. */
const DOCUMENTS = [
  'README.md',
  'BENCHMARKS.md',
  'packages/guard/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(ROOT, 'examples'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name))),
];

/** npx without --no-install fetches a package from the registry when none is installed. */
async function npx(cwd: string, ...args: string[]) {
  // offline: even a mistake in this test never reaches the registry.
  const env = { ...process.env, npm_config_offline: 'true', npm_config_yes: 'false' };
  try {
    const { stdout, stderr } = await run('npx', args, { cwd, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the README runs keyport’s own CLI only', () => {
  it('the server package is scoped (@keyport/server) and still installs the keyport command', () => {
    const pkg = JSON.parse(read('package.json')) as { name: string; bin: Record<string, string> };
    expect(pkg.name).toBe('@keyport/server');
    expect(pkg.bin.keyport).toBe('dist/src/cli/main.js');
    const lock = JSON.parse(read('package-lock.json')) as { name: string; packages: Record<string, { name?: string }> };
    expect(lock.name).toBe('@keyport/server');
    expect(lock.packages['']?.name).toBe('@keyport/server');
  });

  it('every keyport command in the documents is written `npx --no-install keyport …` or `npm exec --no -- keyport …`', () => {
    const unsafe: string[] = [];
    for (const doc of DOCUMENTS) {
      read(doc)
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(/\b(npx|npm exec|npm x)\b((?:\s+-[-\w=]+)*)\s+keyport\b/g)) {
            const flags = m[2] ?? '';
            const safe = m[1] === 'npx' ? /--no-install|--no\b/.test(flags) : /--no\b.*--/.test(`${flags} --`);
            if (!safe) unsafe.push(`${doc}:${i + 1}: ${line.trim()}`);
          }
        });
    }
    expect(unsafe).toEqual([]);
  });

  it('the README says why --no-install', () => {
    expect(read('README.md')).toMatch(/--no-install[^\n]*\n?[^\n]*unrelated package named `keyport`/);
  });

  it('`npx --no-install keyport --help` runs the built CLI inside the project', async () => {
    const result = await npx(ROOT, '--no-install', 'keyport', '--help');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: keyport');
  });

  it('outside the project `npx --no-install keyport` refuses to fetch anything', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'keyport-elsewhere-'));
    const result = await npx(elsewhere, '--no-install', 'keyport', '--help');
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toContain('Usage: keyport');
  });
});
