// knex's own mysql2 client, extended in mysql.ts; knex ships no types for its dialect classes.
declare module 'knex/lib/dialects/mysql2/index.js' {
  import type { Knex } from 'knex';

  class ClientMySQL2 extends Knex.Client {
    _query(connection: unknown, obj: unknown): Promise<unknown>;
  }
  export default ClientMySQL2;
}
