import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli } from '../helpers/cli.js';

/** Issue 25: the schemes DATABASE_URL takes, as an operator meets them at the command line. */
describe('DATABASE_URL schemes', () => {
  it('an unsupported scheme stops `serve` with one line naming the supported ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyport-scheme-'));
    const result = await runCli(
      {
        PATH: process.env.PATH,
        PORT: String(await freePort()),
        DATABASE_URL: 'mssql://sa:pw@db.internal:1433/keyport',
        KEYS_DIR: join(dir, 'keys'),
        KEYPORT_WORKERS: '1',
      },
      'serve',
    );
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/sqlite:, mysql:\/\/, postgres:\/\/ or postgresql:\/\//);
    expect(result.stderr).not.toContain('pw@');
  });

  it.each(['postgres', 'postgresql'])('`config` masks the password of a %s:// URL', async (scheme) => {
    const result = await runCli(
      { PATH: process.env.PATH, DATABASE_URL: `${scheme}://keyport:hunter2-db-password@db.internal:5432/keyport` },
      'config',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      database_url: `${scheme}://keyport:********@db.internal:5432/keyport`,
    });
    expect(result.stdout).not.toContain('hunter2');
  });
});
