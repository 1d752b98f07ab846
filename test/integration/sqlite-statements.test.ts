import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/persistence/sql/knex.js';
import { MAX_CACHED_SQL, MAX_CACHED_STATEMENTS, statementCacheOf } from '../../src/persistence/sql/dialects/sqlite.js';

// SQLite (better-sqlite3) compiles a statement on every query through knex; keyport keeps the
// compiled statements of its connection, so a statement every request makes is compiled once.
// The bench found compiling as costly as running them (issue 27, (f)).
describe('SQLite keeps its compiled statements', () => {
  let dir: string;
  let db: Db;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kp-statements-'));
    db = createDb(`sqlite:${join(dir, 'kp.sqlite')}`);
    await db.schema.createTable('t', (t) => {
      t.integer('id').primary();
      t.string('name');
    });
    await db('t').insert([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the same statement run again is compiled once, and each run answers for its own values', async () => {
    const cache = await statementCacheOf(db);
    const before = cache.compiled;
    const names: unknown[] = [];
    for (let i = 0; i < 50; i++)
      names.push(
        (
          await db('t')
            .where({ id: (i % 2) + 1 })
            .first()
        )?.name,
      );
    expect(cache.compiled - before).toBe(1);
    expect(names.slice(0, 4)).toEqual(['one', 'two', 'one', 'two']);
    // Writes too: a kept INSERT inserts each run's own row.
    for (let id = 3; id < 13; id++) await db('t').insert({ id, name: `n${id}` });
    expect(await db('t').count({ n: '*' })).toEqual([{ n: 12 }]);
    expect((await db('t').where({ id: 12 }).first())?.name).toBe('n12');
  });

  it('a kept statement sees a change of the table (a migration) after it was compiled', async () => {
    expect(Object.keys((await db('t').where({ id: 1 }).first()) as object)).toEqual(['id', 'name']);
    await db.schema.alterTable('t', (t) => t.string('extra').defaultTo('x'));
    expect(await db('t').where({ id: 1 }).first()).toEqual({ id: 1, name: 'one', extra: 'x' });
  });

  it('keeps at most MAX_CACHED_STATEMENTS, and never a statement longer than MAX_CACHED_SQL', async () => {
    const cache = await statementCacheOf(db);
    for (let i = 0; i < MAX_CACHED_STATEMENTS + 50; i++) await db.raw(`select ${i} as n`);
    expect(cache.size).toBe(MAX_CACHED_STATEMENTS);
    const long = `select 1 as n${' '.repeat(MAX_CACHED_SQL)}`;
    const before = cache.compiled;
    await db.raw(long);
    await db.raw(long);
    expect(cache.compiled - before).toBe(2);
    // The most recently used stay: the first ones went.
    const again = cache.compiled;
    await db.raw(`select ${MAX_CACHED_STATEMENTS + 49} as n`);
    expect(cache.compiled).toBe(again);
    await db.raw('select 0 as n');
    expect(cache.compiled).toBe(again + 1);
  });
});
