import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 24, item 11: @keyport/guard is not on the npm registry; its README
 * says to install it from a tarball packed in keyport's repository. That
 * tarball, installed offline into a project of its own, must be importable
 * (ESM) and requirable (CommonJS, Node 20.19+) with everything it needs.
 */
const GUARD = join(import.meta.dirname, '../../packages/guard');
// A cache of its own, outside the tree: nothing of the machine's is read or written, and --offline fetches nothing.
const CACHE = mkdtempSync(join(tmpdir(), 'keyport-guard-npm-cache-'));
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_cache: CACHE, npm_config_update_notifier: 'false' },
  });

describe('@keyport/guard from a packed tarball', () => {
  it('npm pack in packages/guard, npm install --offline of the tarball, then import and require it', () => {
    const packed = mkdtempSync(join(tmpdir(), 'keyport-guard-pack-'));
    npm(['pack', '--pack-destination', packed], GUARD);
    const [tarball] = readdirSync(packed).filter((name) => name.endsWith('.tgz'));
    expect(tarball).toBe('keyport-guard-0.1.0.tgz');

    const project = mkdtempSync(join(tmpdir(), 'keyport-guard-consumer-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-api', version: '1.0.0', private: true }));
    npm(['install', '--offline', '--no-audit', '--no-fund', join(packed, tarball!)], project);

    const probe = (code: string, type: 'module' | 'commonjs') =>
      execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: project, encoding: 'utf8' }).trim();
    const use = `const guard = keyportGuard({ issuer: 'http://127.0.0.1:9', clientId: 'rs', clientSecret: 's' });
      console.log([typeof guard.express, typeof guard.koa, typeof guard.close, isPlausibleKey('nope nope')].join(' '));`;
    expect(probe(`import { keyportGuard, isPlausibleKey } from '@keyport/guard';\n${use}`, 'module')).toBe(
      'function function function false',
    );
    expect(probe(`const { keyportGuard, isPlausibleKey } = require('@keyport/guard');\n${use}`, 'commonjs')).toBe(
      'function function function false',
    );
    // The types ship with it, and nothing else does.
    expect(readdirSync(join(project, 'node_modules/@keyport/guard')).sort()).toEqual(
      [
        'README.md',
        'bin',
        'gateway.d.ts',
        'gateway.js',
        'index.d.ts',
        'index.js',
        'jwt.js',
        'permissions.js',
        'leases.js',
        'package.json',
        'renewals.js',
        'reports.js',
      ].sort(),
    );
    // The gateway check (docs/gateway.md) is the package's bin: `npx --no-install keyport-guard` in the project.
    const help = execFileSync(join(project, 'node_modules/.bin/keyport-guard'), ['--help'], { encoding: 'utf8' });
    expect(help).toMatch(/^usage: .*keyport-guard serve --issuer URL --listen HOST:PORT/);
  }, 120_000);
});
