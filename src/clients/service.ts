import type { Tx, UnitOfWork } from '../unit-of-work.js';
import { secondsOf, systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { InvalidRequest, KeyLimitReached, NotFound } from '../errors.js';
import type { Team } from '../teams/team.js';
import type { TeamService } from '../teams/service.js';
import type { TeamStore } from '../teams/store.js';
import { toClientView, type ClientRecord, type Environment } from './client.js';
import { OOB_REDIRECT_URI } from './kinds.js';
import type { ClientKind } from './client.js';
import { CLIENT_LIMITS } from './limits.js';
import { checkKid, MAX_PUBLIC_KEYS, normalizePublicKey, thumbprint } from './public-keys.js';
import { generateClientId, generateClientSecret, hashSecret, keyDigest, secretHint } from './secrets.js';
import type { ClientStore } from './store.js';
import { checkMeta } from './meta.js';
import { checkPermissions } from './permissions.js';
import type { RoleService } from './roles.js';
import { checkAllowedIps } from './allowed-ips.js';
import type { ClientService, CreatedClient } from './service-api.js';
import {
  checkChosenSecret,
  checkCredits,
  checkEnvironment,
  checkName,
  checkRedirectUris,
  expiryFrom,
} from './client-rules.js';
import { shareExpired, type ShareLinks } from '../shares/share-links.js';
import type { ClientEvent, DomainEvents } from '../events/domain-events.js';

export type { ClientPage, ClientService, CreatedClient, NewApp, NewServiceAccount } from './service-api.js';

export interface ClientServiceDeps {
  readonly shares: ShareLinks;
  readonly config: Config;
  /** Every change and its events commit together or not at all. */
  readonly unitOfWork: UnitOfWork;
  readonly clock?: Clock;
  readonly clients: ClientStore;
  readonly teams: TeamStore;
  readonly teamService: TeamService;
  /** Each change is published in the transaction that makes it (key_events, and the CLI's audit rows). */
  readonly events: DomainEvents;
  /** The roles a key may be given (issue 28 item 2). */
  readonly roles: RoleService;
}

export function createClientService({
  config,
  unitOfWork,
  clock = systemClock,
  clients,
  teams,
  teamService,
  shares,
  events,
  roles: roleService,
}: ClientServiceDeps): ClientService {
  const nowSeconds = () => secondsOf(clock);
  const publish = (tx: Tx, event: ClientEvent) => events.publish(event, tx);

  /** Writes `columns` and publishes what changed, together; nothing is published when no row changed. */
  async function change(
    client: ClientRecord,
    columns: Parameters<ClientStore['update']>[1],
    types: ReadonlyArray<
      Exclude<ClientEvent['type'], 'client.key-added' | 'client.key-removed' | 'client.leaked' | 'client.share-expired'>
    >,
    tx?: Tx,
  ): Promise<void> {
    const work = async (t: Tx) => {
      if (!(await clients.update(client.clientId, columns, t))) return;
      for (const type of types) await publish(t, { type, clientId: client.clientId, teamId: client.teamId });
    };
    await (tx ? work(tx) : unitOfWork.run(work));
  }

  const view = (client: ClientRecord) => toClientView(client, config.defaultScopes, nowSeconds());

  function checkScopes(scopes: readonly string[] | undefined): readonly string[] {
    if (scopes === undefined) return config.defaultScopes;
    if (scopes.length > CLIENT_LIMITS.scopesCount)
      throw new InvalidRequest('scopes', `at most ${CLIENT_LIMITS.scopesCount}`);
    const unknown = scopes.filter((s) => !Object.hasOwn(config.scopes, s));
    if (unknown.length) {
      throw new InvalidRequest(
        'scopes',
        `unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; known: ${Object.keys(config.scopes).join(' ')}`,
      );
    }
    return [...new Set(scopes)];
  }

  /**
   * A new secret (returned this once, stored as its hash) or, with a public
   * key, none. A secret the customer chose has no random part to hint at.
   */
  async function credentials(
    environment: Environment,
    publicKeyPem?: string,
    chosen?: string,
    { apiKey = false } = {},
  ) {
    if (publicKeyPem)
      return { secret: undefined, fields: { publicKeyPem, secretHash: null, secretHint: null, keyDigest: null } };
    if (chosen !== undefined) checkChosenSecret(chosen);
    const secret = chosen ?? generateClientSecret(environment, config.keyPrefix);
    return {
      secret,
      fields: {
        publicKeyPem: null,
        secretHash: await hashSecret(secret),
        secretHint: chosen === undefined ? secretHint(secret) : null,
        // A generated service-account secret is also its API key, found by this digest. An app's is
        // not; nor is a secret the customer chose (too weak to be a bearer key, and two keys may share one).
        keyDigest: apiKey && chosen === undefined ? keyDigest(secret) : null,
      },
    };
  }

  /**
   * Runs `insert` only while the team holds fewer valid keys than its plan
   * allows. The team row is written first (its lock on one server; on a
   * Galera cluster a conflict at commit, after which the loser runs again and
   * counts anew), so of several creates racing for the last place exactly one wins.
   */
  async function withFreeKeySlot(team: Team, insert: (tx: Tx) => Promise<void>): Promise<void> {
    await unitOfWork.run(async (trx) => {
      await clients.lockTeamKeys(team.id, trx);
      const { max_keys: max } = teamService.planOf(team);
      if ((await clients.countValid(team.id, nowSeconds(), trx)) >= max) {
        throw new KeyLimitReached(`the team already holds ${max} valid keys, the most its plan "${team.plan}" allows`);
      }
      await insert(trx);
    });
  }

  async function created(clientId: string, secret: string | undefined): Promise<CreatedClient> {
    return { client: view(await mustFind(clientId)), clientSecret: secret };
  }

  /** Revokes and publishes it, together (the store also deletes the client's tokens in that transaction). */
  async function revokeClient(client: ClientRecord): Promise<void> {
    await unitOfWork.run(async (trx) => {
      await clients.revoke(client.clientId, nowSeconds(), trx);
      await publish(trx, { type: 'client.revoked', clientId: client.clientId, teamId: client.teamId });
    });
  }

  async function mustFind(clientId: string): Promise<ClientRecord> {
    const client = await clients.findById(clientId);
    if (!client) throw new NotFound(`client ${clientId} not found`);
    return client;
  }

  return {
    async createServiceAccount(input) {
      const team = await teamService.getTeam(input.teamId);
      teamService.requireApiAccess(team);
      if (input.requestedBy !== undefined) await teamService.requireAdmin(team.id, input.requestedBy);
      const now = nowSeconds();
      const kind: ClientKind = input.publicKeyPem ? 'service_account_jwt' : 'service_account';
      const publicKeyPem = input.publicKeyPem ? normalizePublicKey(input.publicKeyPem) : undefined;
      const publicKeyKid = publicKeyPem && input.publicKeyKid !== undefined ? checkKid(input.publicKeyKid) : undefined;
      const name = checkName(input.name, 'service account');
      const environment = checkEnvironment(input.environment);
      const scopes = checkScopes(input.scopes);
      const expiresAt = expiryFrom(input.expiresInDays, now);
      const { secret, fields } = await credentials(environment, publicKeyPem, input.clientSecret, { apiKey: true });
      const credits = checkCredits(input.credits);
      const meta = checkMeta(input.meta);
      const permissions = checkPermissions(input.permissions, config.permissions);
      const roles = await roleService.checkRoles(team.id, input.roles);
      const allowedIps = checkAllowedIps(input.allowedIps);
      const clientId = generateClientId();
      // The service account is a user of its own in the team; the client acts as it.
      await withFreeKeySlot(team, async (trx) => {
        const user = await teams.createMember(team.id, { kind: 'service_account', name }, 'member', trx);
        await clients.insert(
          {
            clientId,
            kind,
            name,
            teamId: team.id,
            userId: user.id,
            redirectUris: [],
            environment,
            scopes,
            createdAt: now,
            expiresAt,
            publicKeyKid: publicKeyKid ?? null,
            credits,
            meta,
            permissions,
            roles,
            allowedIps,
            ...fields,
          },
          trx,
        );
        await publish(trx, { type: 'client.created', clientId, teamId: team.id });
      });
      return created(clientId, secret);
    },

    async createApp(input) {
      const team = await teamService.getTeam(input.teamId);
      teamService.requireApiAccess(team);
      const now = nowSeconds();
      const redirectUris = checkRedirectUris(input.redirectUris?.length ? input.redirectUris : [OOB_REDIRECT_URI]);
      const name = checkName(input.name, '');
      const scopes = checkScopes(input.scopes);
      const meta = checkMeta(input.meta);
      const permissions = checkPermissions(input.permissions, config.permissions);
      const roles = await roleService.checkRoles(team.id, input.roles);
      const allowedIps = checkAllowedIps(input.allowedIps);
      const { secret, fields } = await credentials('prod');
      const clientId = generateClientId();
      await withFreeKeySlot(team, async (trx) => {
        await clients.insert(
          {
            clientId,
            kind: 'app',
            name,
            teamId: team.id,
            userId: null,
            redirectUris,
            environment: 'prod',
            scopes,
            createdAt: now,
            expiresAt: null,
            meta,
            permissions,
            roles,
            allowedIps,
            ...fields,
          },
          trx,
        );
        await publish(trx, { type: 'client.created', clientId, teamId: team.id });
      });
      return created(clientId, secret);
    },

    async createResourceServer(input) {
      const name = checkName(input.name, '');
      const { secret, fields } = await credentials('prod');
      const clientId = generateClientId();
      await unitOfWork.run(async (trx) => {
        await clients.insert(
          {
            clientId,
            kind: 'resource_server',
            name,
            teamId: null,
            userId: null,
            redirectUris: [],
            environment: 'prod',
            scopes: [],
            createdAt: nowSeconds(),
            expiresAt: null,
            ...(input.accessTokenFormat === 'jwt' ? { accessTokenFormat: 'jwt' as const } : {}),
            ...fields,
          },
          trx,
        );
        await publish(trx, { type: 'client.created', clientId, teamId: null });
      });
      return created(clientId, secret);
    },

    async setPublicKey(clientId, pem) {
      const client = await mustFind(clientId);
      const publicKeyPem = normalizePublicKey(pem);
      const kind: ClientKind = client.kind === 'service_account' ? 'service_account_jwt' : client.kind;
      await unitOfWork.run(async (trx) => {
        await change(
          client,
          {
            publicKeys: [{ kid: thumbprint(publicKeyPem), pem: publicKeyPem }],
            secretHash: null,
            secretHint: null,
            kind,
          },
          ['client.key-set'],
          trx,
        );
        await shares.supersede(clientId, trx);
      });
      return view(await mustFind(clientId));
    },

    async addPublicKey(clientId, pem, kid) {
      const client = await mustFind(clientId);
      if (!client.publicKeys.length)
        throw new InvalidRequest(
          'public_key',
          'only a service account that authenticates with a public key (private_key_jwt) holds public keys',
        );
      const publicKeyPem = normalizePublicKey(pem);
      const id = kid === undefined ? thumbprint(publicKeyPem) : checkKid(kid);
      if (client.publicKeys.some((k) => k.pem === publicKeyPem))
        throw new InvalidRequest('public_key', 'this key is registered already');
      if (client.publicKeys.some((k) => k.kid === id))
        throw new InvalidRequest('kid', `the client already has a key with kid "${id}"`);
      if (client.publicKeys.length >= MAX_PUBLIC_KEYS)
        throw new InvalidRequest('public_key', `a client holds at most ${MAX_PUBLIC_KEYS} keys; remove one first`);
      await unitOfWork.run(async (trx) => {
        if (await clients.update(clientId, { publicKeys: [...client.publicKeys, { kid: id, pem: publicKeyPem }] }, trx))
          await publish(trx, { type: 'client.key-added', clientId, teamId: client.teamId, kid: id });
      });
      return id;
    },

    async removePublicKey(clientId, kid) {
      const client = await mustFind(clientId);
      const rest = client.publicKeys.filter((k) => k.kid !== kid);
      if (rest.length === client.publicKeys.length)
        throw new NotFound(`client ${clientId} has no key with kid "${String(kid).slice(0, 100)}"`);
      if (!rest.length) throw new InvalidRequest('kid', 'the last key cannot be removed; add the next key first');
      await unitOfWork.run(async (trx) => {
        if (await clients.update(clientId, { publicKeys: rest }, trx))
          await publish(trx, { type: 'client.key-removed', clientId, teamId: client.teamId, kid });
      });
    },

    async revoke(clientId) {
      const client = await mustFind(clientId);
      await revokeClient(client);
      return view(await mustFind(clientId));
    },

    async revokeUndelivered(link) {
      const { clientId } = link;
      const client = await clients.findById(clientId);
      return unitOfWork.run(async (trx) => {
        // Settled in the revocation's transaction: a link a rotation superseded is settled already,
        // and of two sweeps racing for it one wins: the loser publishes nothing.
        if (!(await shares.settle(link.id, nowSeconds(), trx))) return false;
        if (!client || client.revokedAt !== null) {
          await publish(trx, shareExpired(link, false));
          return false;
        }
        await clients.revoke(clientId, nowSeconds(), trx);
        await publish(trx, { type: 'client.revoked', clientId, teamId: client.teamId });
        await publish(trx, shareExpired(link, true));
        return true;
      });
    },

    async list(teamId, { limit, offset }) {
      // Rows the runbook inserted by hand are listed as first-class keys, with no restart.
      await clients.adoptHandInserted(teamId, nowSeconds());
      const { total, clients: rows } = await clients.listByTeam(teamId, { limit, offset });
      const links = await shares.latest(rows.map((r) => r.clientId));
      const data = rows.map((r) => ({
        ...view(r),
        ...(links.has(r.clientId) ? { share: links.get(r.clientId)! } : {}),
      }));
      return { total_count: total, data, exceeds_total_count: offset + rows.length < total };
    },

    async handOver(created, share) {
      if (!share)
        return { ...created.client, ...(created.clientSecret ? { client_secret: created.clientSecret } : {}) };
      if (!created.clientSecret)
        throw new InvalidRequest('share', 'this client has no secret to share (it authenticates with a public key)');
      const link = await shares.create({
        clientId: created.client.client_id,
        teamId: created.client.team_id,
        secret: created.clientSecret,
        ...share,
      });
      return { ...created.client, share_url: link.url, share: link.view };
    },

    async update(clientId, changes) {
      const client = await mustFind(clientId);
      const columns = {
        ...(changes.name !== undefined ? { name: checkName(changes.name, '') } : {}),
        ...(changes.scopes !== undefined ? { scopes: checkScopes(changes.scopes) } : {}),
        ...(changes.credits !== undefined ? { credits: checkCredits(changes.credits) } : {}),
        ...(changes.meta !== undefined ? { meta: checkMeta(changes.meta) } : {}),
        ...(changes.permissions !== undefined
          ? { permissions: checkPermissions(changes.permissions, config.permissions) }
          : {}),
        ...(changes.roles !== undefined && client.teamId !== null
          ? { roles: await roleService.checkRoles(client.teamId, changes.roles) }
          : {}),
        ...(changes.allowedIps !== undefined ? { allowedIps: checkAllowedIps(changes.allowedIps) } : {}),
      };
      const types = [
        ...(columns.name !== undefined ? (['client.renamed'] as const) : []),
        ...(columns.scopes !== undefined ? (['client.scopes-changed'] as const) : []),
        ...(columns.credits !== undefined ? (['client.credits-changed'] as const) : []),
        ...(columns.meta !== undefined ? (['client.meta-changed'] as const) : []),
        ...(columns.permissions !== undefined || columns.roles !== undefined
          ? (['client.permissions-changed'] as const)
          : []),
        ...(columns.allowedIps !== undefined ? (['client.allowed-ips-changed'] as const) : []),
      ];
      if (types.length) await change(client, columns, types);
      if (changes.isValid === false) await revokeClient(client);
      return view(await mustFind(clientId));
    },

    async regenerateSecret(clientId, { clientSecret, gracePeriodSeconds = 0 }) {
      const client = await mustFind(clientId);
      if (client.publicKeyPem)
        throw new InvalidRequest('client_secret', 'this client authenticates with private_key_jwt and has no secret');
      if (
        !Number.isInteger(gracePeriodSeconds) ||
        gracePeriodSeconds < 0 ||
        gracePeriodSeconds > CLIENT_LIMITS.gracePeriodSecondsMax
      ) {
        throw new InvalidRequest(
          'grace_period_seconds',
          `must be a whole number from 0 to ${CLIENT_LIMITS.gracePeriodSecondsMax}`,
        );
      }
      const { secret, fields } = await credentials(client.environment, undefined, clientSecret, {
        apiKey: client.kind === 'service_account',
      });
      // A revoked key's old secret never comes back, even for a grace period; nor does one a scanner found in public.
      const keepOld =
        gracePeriodSeconds > 0 && client.secretHash !== null && client.revokedAt === null && !client.leakedAt;
      const type = client.revokedAt !== null ? 'client.revived' : 'client.rotated';
      // The old secret's open links end with it: they reveal nothing and their expiry revokes nothing.
      const update = async (trx: Tx) => {
        await change(
          client,
          {
            secretHash: fields.secretHash,
            secretHint: fields.secretHint,
            keyDigest: fields.keyDigest,
            previousKeyDigest: keepOld ? client.keyDigest : null,
            previousSecretHash: keepOld ? client.secretHash : null,
            previousSecretExpiresAt: keepOld ? nowSeconds() + gracePeriodSeconds : null,
            revokedAt: null,
            // The new secret has not leaked (a flagged key is rotated to end its leak).
            leakedAt: null,
          },
          [type],
          trx,
        );
        await shares.supersede(clientId, trx);
      };
      // Reviving a revoked key makes it count again: it needs a free place, exactly like a new key.
      if (client.revokedAt !== null && client.teamId !== null) {
        await withFreeKeySlot(await teamService.getTeam(client.teamId), update);
      } else {
        await unitOfWork.run(update);
      }
      return created(clientId, secret);
    },

    get: mustFind,
    view,
  };
}
