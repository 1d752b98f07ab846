import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedConfig } from '../../src/cli/commands/config.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseSentinelUrl } from '../../src/persistence/redis/sentinel-url.js';

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

  it('mail: KEYPORT_SMTP_URL takes smtp:// or smtps:// only; mail_from defaults to keyport@ the issuer host', () => {
    expect(() => loadConfig({ env: { KEYPORT_SMTP_URL: 'http://relay:25' } })).toThrow(
      /smtp_url \(or KEYPORT_SMTP_URL\): must be smtp:\/\/\[user:pass@\]host:port or smtps:\/\//,
    );
    const config = loadConfig({
      env: { KEYPORT_SMTP_URL: 'smtp://127.0.0.1:2525', ISSUER: 'https://keys.example.com' },
    });
    expect(config.smtpUrl).toBe('smtp://127.0.0.1:2525');
    expect(config.mailFrom).toBe('keyport@keys.example.com');
    expect(config.reminderCheckSeconds).toBe(300);
    expect(loadConfig({ env: {} }).smtpUrl).toBeUndefined();
  });

  it('refuses another scheme with a message naming the supported ones', () => {
    expect(() => loadConfig({ env: { DATABASE_URL: 'mssql://h/db' } })).toThrow(
      /database_url \(or DATABASE_URL\): must start with sqlite:, mysql:\/\/, postgres:\/\/ or postgresql:\/\//,
    );
  });

  it('DATABASE_READ_URL names a replica of the same kind of server as DATABASE_URL; SQLite has none', () => {
    const env = { DATABASE_URL: 'postgres://u@primary/db', DATABASE_READ_URL: 'postgresql://u@replica/db' };
    expect(loadConfig({ env }).databaseReadUrl).toBe(env.DATABASE_READ_URL);
    expect(loadConfig({ env: { DATABASE_URL: 'mysql://u@h/db' } }).databaseReadUrl).toBeUndefined();
    expect(() => loadConfig({ env: { ...env, DATABASE_URL: 'mysql://u@primary/db' } })).toThrow(
      /database_read_url \(or DATABASE_READ_URL\): must name a replica of database_url/,
    );
    expect(() => loadConfig({ env: { DATABASE_READ_URL: 'sqlite:./replica.sqlite' } })).toThrow(
      /database_read_url \(or DATABASE_READ_URL\): must start with mysql:\/\/, postgres:\/\/ or postgresql:\/\//,
    );
  });

  it('REDIS_URL names one Redis, or Redis Sentinels with the name of their primary', () => {
    const sentinels = 'redis+sentinel://:s3cr%40t@10.0.0.1:26379,10.0.0.2:26380,sentinel-3/mymaster';
    expect(loadConfig({ env: { REDIS_URL: sentinels } }).redisUrl).toBe(sentinels);
    expect(parseSentinelUrl(sentinels)).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: 'sentinel-3', port: 26379 },
      ],
      name: 'mymaster',
      password: 's3cr@t',
    });
    expect(parseSentinelUrl('redis://127.0.0.1:6379')).toBeUndefined();
    for (const bad of [
      'redis+sentinel://10.0.0.1:26379',
      'redis+sentinel:///mymaster',
      'memcached://x',
      'redis+sentinel://a:b:c/m',
    ]) {
      expect(() => loadConfig({ env: { REDIS_URL: bad } })).toThrow(
        /redis_url \(or REDIS_URL\): .*redis\+sentinel:\/\//,
      );
    }
  });

  it('keyport config masks the Redis password, in either form', () => {
    for (const url of ['redis://:s3cret@127.0.0.1:6379', 'redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster']) {
      const shown = JSON.stringify(maskedConfig(loadConfig({ env: { REDIS_URL: url } })));
      expect(shown).not.toContain('s3cret');
      expect(shown).toContain(url.replace('s3cret', '********'));
    }
  });
});
