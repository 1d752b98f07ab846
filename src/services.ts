import { createClientService, type ClientService } from './clients/service.js';
import { createKnexClientStore, type ClientStore } from './clients/store.js';
import type { Config } from './config.js';
import { createDb, type Db } from './persistence/sql/knex.js';
import { migrateLatest } from './persistence/sql/migrate.js';
import { createTeamService, type TeamService } from './teams/service.js';
import type { TeamStore } from './teams/store.js';
import { createSqlTeamStore } from './persistence/sql/team-store.js';
import { createShareLinks, type ShareLinks } from './shares/share-links.js';
import { createDomainEvents, type ClientEventSubscriber } from './events/domain-events.js';
import { createKeyChangeSubscriber } from './events/key-events.js';
import { createKnexAuditStore } from './audit/audit.js';
import { createAuditSubscriber, type AuditActor } from './audit/audit-subscriber.js';

/** The domain services, built once per database; the CLI uses these alone. */
export interface Services {
  readonly db: Db;
  readonly teams: TeamStore;
  readonly clients: ClientStore;
  readonly teamService: TeamService;
  readonly clientService: ClientService;
  readonly shares: ShareLinks;
  close(): Promise<void>;
}

/**
 * `auditAs`: the actor of a surface that does not audit itself (the CLI); its
 * changes then get audit rows from the events. The server passes none: the
 * admin API and dashboard write their own rows.
 */
export async function openServices(config: Config, { auditAs }: { auditAs?: AuditActor } = {}): Promise<Services> {
  const db = createDb(config.databaseUrl);
  try {
    await migrateLatest(db);
  } catch (err) {
    // Close the pool, or a failed CLI command would never exit.
    await db.destroy();
    throw err;
  }
  const teams = createSqlTeamStore(db);
  const clients = createKnexClientStore(db);
  const teamService = createTeamService({ config, teams });
  const shares = createShareLinks(db, config.issuer);
  const subscribers: ClientEventSubscriber[] = [createKeyChangeSubscriber()];
  if (auditAs) subscribers.push(createAuditSubscriber(createKnexAuditStore(db), auditAs));
  const events = createDomainEvents(subscribers);
  const clientService = createClientService({ config, db, clients, teams, teamService, shares, events });
  return { db, teams, clients, teamService, clientService, shares, close: () => db.destroy() };
}
