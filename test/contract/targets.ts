import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../../src/clock.js';
import { createDb, dialectOf, type Db } from '../../src/persistence/sql/knex.js';
import { migrateLatest } from '../../src/persistence/sql/migrate.js';
import { DATABASES } from '../helpers/databases.js';

/**
 * Where a store's contract runs: every SQL database of test/helpers/databases.ts
 * and, for stores with a Redis implementation, Redis at TEST_REDIS_URL under a
 * random key prefix. Each target opens a fresh backing store; `connect()`
 * gives another connection to it, as another keyport process would have.
 */
export interface Target<C> {
  readonly name: string;
  open(): Promise<Backing<C>>;
}

export interface Backing<C> {
  /** A new connection (a knex pool, a Redis client) to the same backing store. */
  connect(): C;
  /** The first connection. */
  readonly main: C;
  close(): Promise<void>;
}

export function sqlTargets(): Array<Target<Db>> {
  return DATABASES.map((database) => ({
    name: database.name,
    async open() {
      const { url, drop } = await database.create();
      const opened: Db[] = [];
      const connect = () => {
        const db = createDb(url);
        opened.push(db);
        return db;
      };
      const main = connect();
      await migrateLatest(main);
      return {
        connect,
        main,
        async close() {
          await Promise.all(opened.map((db) => db.destroy()));
          await drop();
        },
      };
    },
  }));
}

/** Redis, when TEST_REDIS_URL is set; otherwise none, and the run says so. */
export function redisTargets(store: string): Array<Target<Redis>> {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    console.warn(`TEST_REDIS_URL is not set: the Redis implementation of ${store} is not checked in this run`);
    return [];
  }
  return [
    {
      name: 'redis',
      async open() {
        const keyPrefix = `keyport-contract-${randomBytes(6).toString('hex')}:`;
        const opened: Redis[] = [];
        const connect = () => {
          const redis = new Redis(url, { keyPrefix, maxRetriesPerRequest: 2 });
          opened.push(redis);
          return redis;
        };
        const main = connect();
        return {
          connect,
          main,
          async close() {
            // KEYS answers full names: delete them without the client's prefix.
            const plain = new Redis(url);
            const keys = await plain.keys(`${keyPrefix}*`);
            if (keys.length) await plain.del(...keys);
            await plain.quit();
            await Promise.all(opened.map((redis) => redis.quit()));
          },
        };
      },
    },
  ];
}

export interface StoreTarget<S> {
  readonly name: string;
  open(): Promise<OpenStore<S>>;
}

export interface OpenStore<S> {
  /** A store on a new connection to the same backing store (another process's view). */
  another(clock?: Clock): S;
  /** The store on the first connection. */
  readonly store: S;
  /** The SQL database behind it, on the SQL targets (to look at rows, never to edit them). */
  readonly db?: Db;
  close(): Promise<void>;
}

/** The targets of one store: each implementation it has, on each backing store of its kind. */
export function storeTargets<S>(
  what: string,
  make: { sql?: (db: Db, clock: Clock) => S; redis?: (redis: Redis, clock: Clock) => S },
  clock: Clock = systemClock,
): Array<StoreTarget<S>> {
  const wrap = <C>(target: Target<C>, build: (c: C, clock: Clock) => S, db?: (c: C) => Db): StoreTarget<S> => ({
    name: target.name,
    async open() {
      const backing = await target.open();
      return {
        another: (another = clock) => build(backing.connect(), another),
        store: build(backing.main, clock),
        db: db?.(backing.main),
        close: () => backing.close(),
      };
    },
  });
  const { sql, redis } = make;
  return [
    ...(sql ? sqlTargets().map((t) => wrap(t, sql, (db) => db)) : []),
    ...(redis ? redisTargets(what).map((t) => wrap(t, redis)) : []),
  ];
}

/**
 * Another process's store for a store whose writes are transactions. On
 * SQLite that is the same store: better-sqlite3 runs on this one thread, so
 * two connections with open transactions would wait on each other for good
 * (separate processes share SQLite fine; the integration tests run them).
 */
export function anotherProcess<S>(open: OpenStore<S>): S {
  return open.db && !dialectOf(open.db).rowLocks ? open.store : open.another();
}
