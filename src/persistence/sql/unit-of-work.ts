import type { Knex } from 'knex';
import type { Tx, UnitOfWork } from '../../unit-of-work.js';
import type { Db } from './knex.js';

export function createKnexUnitOfWork(db: Db): UnitOfWork {
  return { run: (work) => db.transaction((trx) => work(trx as unknown as Tx)) };
}

/** The knex handle a store runs a statement on: the caller's transaction, or the pool. */
export function sqlOf(db: Db, tx: Tx | undefined): Knex {
  return (tx as unknown as Knex.Transaction | undefined) ?? db;
}
