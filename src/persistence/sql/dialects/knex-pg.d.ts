// knex's own pg client, extended in postgres.ts; knex ships no types for its dialect classes.
declare module 'knex/lib/dialects/postgres/index.js' {
  import type { Knex } from 'knex';

  class ClientPG extends Knex.Client {
    _query(connection: unknown, obj: unknown): Promise<unknown>;
  }
  export default ClientPG;
}
