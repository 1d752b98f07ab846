import { describe, expect, it } from 'vitest';
import { postgres } from '../../src/persistence/sql/dialects/postgres.js';

/** pg's failures that mean PostgreSQL is out of reach answer 503; a refused statement stays the statement's own error. */
describe("PostgreSQL's out-of-reach failures", () => {
  it.each([
    ['Connection terminated unexpectedly'],
    ['Query read timeout'],
    ['timeout expired'],
    // A ROLLBACK on a connection ended for its timed-out statement.
    ['Client was closed and is not queryable'],
  ])('%s is an outage', (message) => {
    expect(postgres.isOutOfReach(new Error(message))).toBe(true);
  });

  it('a refused statement (a unique violation, a syntax error) is not', () => {
    expect(postgres.isOutOfReach(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(postgres.isOutOfReach(Object.assign(new Error('syntax error at or near'), { code: '42601' }))).toBe(false);
  });
});
