import { createClientService, type ClientService } from './clients/service.js';
import type { ClientStore } from './clients/store.js';
import { createSqlClientStore } from './persistence/sql/client-store.js';
import type { Config } from './config.js';
import { createDb, type Db } from './persistence/sql/knex.js';
import { migrateLatest } from './persistence/sql/migrate.js';
import { replicaFirstClients } from './persistence/sql/replica-reads.js';
import { createTeamService, type TeamService } from './teams/service.js';
import type { TeamStore } from './teams/store.js';
import type { ExternalTeamStore } from './teams/external-people.js';
import { createSqlExternalTeamStore } from './persistence/sql/external-team-store.js';
import { createSqlTeamStore } from './persistence/sql/team-store.js';
import { createShareLinks, type ShareLinks } from './shares/share-links.js';
import { createDomainEvents, type ClientEventSubscriber } from './events/domain-events.js';
import { createKeyChangeSubscriber } from './events/key-events.js';
import type { AuditStore } from './audit/audit.js';
import { createSqlAuditStore } from './persistence/sql/audit-store.js';
import { createSqlKeyEventStore } from './persistence/sql/key-event-store.js';
import { createSqlRevokedTokenStore } from './persistence/sql/revoked-token-store.js';
import type { RevokedTokenStore } from './clients/revoked-tokens.js';
import { createSqlShareLinkStore } from './persistence/sql/share-link-store.js';
import { createKnexUnitOfWork } from './persistence/sql/unit-of-work.js';
import type { KeyEventStore } from './events/key-events.js';
import type { PassedTimeStore } from './events/passed-times.js';
import { createSqlPassedTimeStore } from './persistence/sql/passed-time-store.js';
import { secondsOf, systemClock, type Clock } from './clock.js';
import { createAuditSubscriber, type AuditActor } from './audit/audit-subscriber.js';
import type { WebhookStore } from './events/webhooks.js';
import { createWebhookSubscriber } from './events/webhook-subscriber.js';
import { createSqlWebhookStore } from './persistence/sql/webhook-store.js';
import { createTeamSync, type TeamSync } from './teams/sync.js';
import { createSqlTeamSyncStore } from './persistence/sql/team-sync-store.js';
import type { LeakStore } from './clients/leak-store.js';
import { createSqlLeakStore } from './persistence/sql/leak-store.js';
import { createLeakReports, type LeakedKeyNotice, type LeakReports } from './clients/leaks.js';
import { createRoleService, type RoleService, type TeamRoleStore } from './clients/roles.js';
import { createSqlRoleStore } from './persistence/sql/role-store.js';
import { createSqlStaffStore } from './persistence/sql/staff-store.js';
import { createSqlSyncTokenStore } from './persistence/sql/sync-token-store.js';
import { createSyncTokens, type SyncTokens } from './teams/sync-tokens.js';
import { createStaffService, type StaffService } from './staff/service.js';
import type { StaffStore } from './staff/staff.js';

/** The domain services, built once per database; the CLI uses these alone. */
export interface Services {
  readonly db: Db;
  /** The read replica (`database_read_url`), when there is one: hot reads only (replica-reads.ts). */
  readonly readDb?: Db;
  readonly clock: Clock;
  readonly teams: TeamStore;
  /** Teams by the product's external id, and people the product vouches for (issue 26). */
  readonly externalTeams: ExternalTeamStore;
  readonly audit: AuditStore;
  /** The guards' change feed, written by the key-change subscriber, read by the /keys/events hub. */
  readonly keyEventStore: KeyEventStore;
  /** JWT access tokens revoked before their expiry (issue 27 item 2). */
  readonly revokedTokens: RevokedTokenStore;
  /** Keys' expiries and grace-period ends, and which were pushed to the guards as changes. */
  readonly passedTimes: PassedTimeStore;
  readonly clients: ClientStore;
  /** `clients` for the hot paths: by id and by digest from the replica first, the primary on a miss. */
  readonly readClients: ClientStore;
  readonly teamService: TeamService;
  /** The product's sync of teams and people by its own ids (issue 26 item 3). */
  readonly teamSync: TeamSync;
  readonly clientService: ClientService;
  readonly shares: ShareLinks;
  /** Webhook endpoints and the outbox, written by the webhook subscriber in each change's transaction. */
  readonly webhookStore: WebhookStore;
  /** Teams' choice for leaked keys (revoke or flag), and the signed reports acted on. */
  readonly leakStore: LeakStore;
  /** Leaked-key reports acted on in one transaction each; `onLeaked` is told after each commits (the mail). */
  leakReports(onLeaked: (notices: readonly LeakedKeyNotice[]) => void): LeakReports;
  /** Permissions and roles (issue 28 item 2): the teams' own roles, and the service over them and the product's. */
  readonly roleStore: TeamRoleStore;
  readonly roles: RoleService;
  /** Support console staff accounts and their sessions (issue 29). */
  readonly staffStore: StaffStore;
  readonly staff: StaffService;
  /** The product's sync tokens (issue 26 item 3): made by the operator, good for the sync routes only. */
  readonly syncTokens: SyncTokens;
  close(): Promise<void>;
}

/**
 * `auditAs`: the actor of a surface that does not audit itself (the CLI); its
 * changes then get audit rows from the events. The server passes none: the
 * admin API and dashboard write their own rows.
 */
export async function openServices(
  config: Config,
  { auditAs, clock = systemClock }: { auditAs?: AuditActor; clock?: Clock } = {},
): Promise<Services> {
  const db = createDb(config.databaseUrl, { timeoutMs: config.databaseTimeoutMs });
  try {
    await migrateLatest(db);
  } catch (err) {
    // Close the pool, or a failed CLI command would never exit.
    await db.destroy();
    throw err;
  }
  const teams = createSqlTeamStore(db, clock);
  const clients = createSqlClientStore(db, clock);
  // Opened after the primary's migrations ran: the replica replays them, it is never migrated itself.
  const readDb = config.databaseReadUrl
    ? createDb(config.databaseReadUrl, { timeoutMs: config.databaseTimeoutMs })
    : undefined;
  const readClients = readDb ? replicaFirstClients(clients, createSqlClientStore(readDb, clock)) : clients;
  const audit = createSqlAuditStore(db, clock);
  const keyEventStore = createSqlKeyEventStore(db);
  const unitOfWork = createKnexUnitOfWork(db);
  const webhookStore = createSqlWebhookStore(db);
  const subscribers: ClientEventSubscriber[] = [
    createKeyChangeSubscriber(keyEventStore, clock),
    createWebhookSubscriber(webhookStore, clock),
  ];
  if (auditAs) subscribers.push(createAuditSubscriber(audit, auditAs));
  const events = createDomainEvents(subscribers);
  const teamService = createTeamService({
    config,
    teams,
    unitOfWork,
    keyEvents: keyEventStore,
    clock,
    events,
    adoptClients: async (teamId) => void (await clients.adoptHandInserted(teamId, secondsOf(clock))),
    serviceAccountKeys: (teamId) => clients.serviceAccountKeys(teamId),
  });
  const teamSync = createTeamSync({
    config,
    teams,
    sync: createSqlTeamSyncStore(db, clock),
    teamService,
    unitOfWork,
    keyEvents: keyEventStore,
    events,
    clock,
  });
  const shares = createShareLinks({
    store: createSqlShareLinkStore(db),
    issuer: config.issuer,
    clock,
    events: { unitOfWork, events },
  });
  const roleStore = createSqlRoleStore(db);
  const roles = createRoleService({ config, store: roleStore, unitOfWork, events, clock: () => clock.now() });
  const clientService = createClientService({
    config,
    unitOfWork,
    clock,
    clients,
    teams,
    teamService,
    shares,
    events,
    roles,
  });
  const leakStore = createSqlLeakStore(db);
  const staffStore = createSqlStaffStore(db);
  return {
    db,
    readDb,
    leakStore,
    leakReports: (onLeaked) =>
      createLeakReports({ clients, store: leakStore, unitOfWork, events, audit, clock, onLeaked }),
    clock,
    teams,
    externalTeams: createSqlExternalTeamStore(db, clock),
    clients,
    readClients,
    audit,
    keyEventStore,
    revokedTokens: createSqlRevokedTokenStore(db),
    passedTimes: createSqlPassedTimeStore(db),
    teamService,
    teamSync,
    clientService,
    shares,
    webhookStore,
    roleStore,
    roles,
    staffStore,
    staff: createStaffService({ store: staffStore, clock }),
    syncTokens: createSyncTokens({ store: createSqlSyncTokenStore(db), audit, clock }),
    close: async () => {
      await Promise.all([db.destroy(), readDb?.destroy()]);
    },
  };
}
