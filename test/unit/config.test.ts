import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('defaults to port 3000, a local issuer and an SQLite file', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({
      port: 3000,
      issuer: 'http://localhost:3000',
      databaseUrl: 'sqlite:./data/keyport.sqlite',
      keysDir: './keys',
      adminToken: undefined,
    });
  });

  it('environment variables override the file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keyport-conf-')), 'conf.json');
    writeFileSync(file, JSON.stringify({ port: 4000, keys_dir: '/from/file' }));
    const config = loadConfig({ env: { KEYPORT_CONF: file, PORT: '5000' } });
    expect(config.port).toBe(5000);
    expect(config.issuer).toBe('http://localhost:5000');
    expect(config.keysDir).toBe('/from/file');
  });

  it('names every bad key', () => {
    const attempt = () =>
      loadConfig({ env: { PORT: 'abc', DATABASE_URL: 'oracle://x' }, overrides: { unknown_key: 1 } });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/port \(or PORT\)/);
    expect(attempt).toThrow(/database_url \(or DATABASE_URL\)/);
    expect(attempt).toThrow(/unknown_key/);
  });

  it.each(['sqlite:./a.sqlite', 'mysql://u:p@h:3306/db', 'postgres://u:p@h:5432/db', 'postgresql://u@h/db'])(
    'takes DATABASE_URL %s',
    (url) => {
      expect(loadConfig({ env: { DATABASE_URL: url } }).databaseUrl).toBe(url);
    },
  );

  it('refuses another scheme with a message naming the supported ones', () => {
    expect(() => loadConfig({ env: { DATABASE_URL: 'mssql://h/db' } })).toThrow(
      /database_url \(or DATABASE_URL\): must start with sqlite:, mysql:\/\/, postgres:\/\/ or postgresql:\/\//,
    );
  });
});
