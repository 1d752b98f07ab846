import type { Config } from '../config.js';
import { nowSeconds, type Db } from '../db/knex.js';
import { InvalidRequest, NotFound } from '../errors.js';
import type { TeamService } from '../teams/service.js';
import type { TeamStore } from '../teams/store.js';
import { ENVIRONMENTS, toClientView, type ClientRecord, type ClientView, type Environment } from './client.js';
import { OOB_REDIRECT_URI, type ClientKind } from './kinds.js';
import { normalizePublicKey } from './public-keys.js';
import { generateClientId, generateClientSecret, hashSecret, secretHint } from './secrets.js';
import type { ClientStore } from './store.js';

/** A client as created: the view, plus the secret this one time (none for private_key_jwt). */
export interface CreatedClient {
  readonly client: ClientView;
  readonly clientSecret?: string;
}

export interface NewServiceAccount {
  readonly teamId: number;
  readonly name?: string;
  readonly environment?: string;
  readonly expiresInDays?: number;
  readonly scopes?: readonly string[];
  readonly publicKeyPem?: string;
  /** Email of the team admin who asked for the key (CLI `-requested-by`). */
  readonly requestedBy?: string;
}

export interface NewApp {
  readonly teamId: number;
  readonly name: string;
  readonly redirectUris?: readonly string[];
  readonly scopes?: readonly string[];
}

export interface ClientService {
  createServiceAccount(input: NewServiceAccount): Promise<CreatedClient>;
  createApp(input: NewApp): Promise<CreatedClient>;
  createResourceServer(input: { name: string }): Promise<CreatedClient>;
  /** Turns a secret-based client into a private_key_jwt one; the secret stops working at once. */
  setPublicKey(clientId: string, pem: string): Promise<ClientView>;
  /** Revokes: the client gets no tokens, and its tokens introspect as inactive. */
  revoke(clientId: string): Promise<ClientView>;
  get(clientId: string): Promise<ClientRecord>;
  view(client: ClientRecord): ClientView;
}

export interface ClientServiceDeps {
  readonly config: Config;
  readonly db: Db;
  readonly clients: ClientStore;
  readonly teams: TeamStore;
  readonly teamService: TeamService;
}

const MAX_EXPIRY_DAYS = 3650;
const DAY = 86_400;

export function createClientService({ config, db, clients, teams, teamService }: ClientServiceDeps): ClientService {
  const view = (client: ClientRecord) => toClientView(client, config.defaultScopes, nowSeconds());

  function checkScopes(scopes: readonly string[] | undefined): readonly string[] {
    if (scopes === undefined) return config.defaultScopes;
    const unknown = scopes.filter((s) => !(s in config.scopes));
    if (unknown.length) {
      throw new InvalidRequest('scopes', `unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; known: ${Object.keys(config.scopes).join(' ')}`);
    }
    return [...new Set(scopes)];
  }

  function checkName(name: string | undefined, fallback: string): string {
    const value = (name ?? fallback).trim();
    if (!value || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new InvalidRequest('name', 'must be 1 to 200 printable characters');
    }
    return value;
  }

  function checkEnvironment(environment: string | undefined): Environment {
    const value = environment ?? 'prod';
    if (!ENVIRONMENTS.includes(value as Environment)) throw new InvalidRequest('environment', `must be one of ${ENVIRONMENTS.join(', ')}`);
    return value as Environment;
  }

  function expiryFrom(days: number | undefined, now: number): number | null {
    if (days === undefined) return null;
    if (!Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS) {
      throw new InvalidRequest('expires_in_days', `must be a whole number from 1 to ${MAX_EXPIRY_DAYS}`);
    }
    return now + days * DAY;
  }

  /** A new secret (returned this once, stored as its hash) or, with a public key, none. */
  async function credentials(environment: Environment, publicKeyPem?: string) {
    if (publicKeyPem) return { secret: undefined, fields: { publicKeyPem, secretHash: null, secretHint: null } };
    const secret = generateClientSecret(environment);
    return { secret, fields: { publicKeyPem: null, secretHash: await hashSecret(secret), secretHint: secretHint(secret) } };
  }

  async function created(clientId: string, secret: string | undefined): Promise<CreatedClient> {
    return { client: view(await mustFind(clientId)), clientSecret: secret };
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
      const name = checkName(input.name, 'service account');
      const environment = checkEnvironment(input.environment);
      const scopes = checkScopes(input.scopes);
      const expiresAt = expiryFrom(input.expiresInDays, now);
      const { secret, fields } = await credentials(environment, publicKeyPem);
      const clientId = generateClientId();
      // The service account is a user of its own in the team; the client acts as it.
      await db.transaction(async (trx) => {
        const user = await teams.createMember(team.id, { kind: 'service_account', name }, 'member', trx);
        await clients.insert({ clientId, kind, name, teamId: team.id, userId: user.id, redirectUris: [], environment, scopes, createdAt: now, expiresAt, ...fields }, trx);
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
      const { secret, fields } = await credentials('prod');
      const clientId = generateClientId();
      await clients.insert({ clientId, kind: 'app', name, teamId: team.id, userId: null, redirectUris, environment: 'prod', scopes, createdAt: now, expiresAt: null, ...fields });
      return created(clientId, secret);
    },

    async createResourceServer(input) {
      const name = checkName(input.name, '');
      const { secret, fields } = await credentials('prod');
      const clientId = generateClientId();
      await clients.insert({ clientId, kind: 'resource_server', name, teamId: null, userId: null, redirectUris: [], environment: 'prod', scopes: [], createdAt: nowSeconds(), expiresAt: null, ...fields });
      return created(clientId, secret);
    },

    async setPublicKey(clientId, pem) {
      const client = await mustFind(clientId);
      const publicKeyPem = normalizePublicKey(pem);
      const kind: ClientKind = client.kind === 'service_account' ? 'service_account_jwt' : client.kind;
      await clients.update(clientId, { publicKeyPem, secretHash: null, secretHint: null, kind });
      return view(await mustFind(clientId));
    },

    async revoke(clientId) {
      const client = await mustFind(clientId);
      if (client.revokedAt === null) await clients.update(clientId, { revokedAt: nowSeconds() });
      return view(await mustFind(clientId));
    },

    get: mustFind,
    view,
  };
}

/**
 * RFC 8252 and OAuth 2.0 Security BCP: https redirects, http only on loopback
 * (native apps), the oob URN; never a fragment.
 */
function checkRedirectUris(uris: readonly string[]): readonly string[] {
  if (uris.length > 10) throw new InvalidRequest('redirect_uris', 'at most 10');
  for (const uri of uris) {
    if (uri === OOB_REDIRECT_URI) continue;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InvalidRequest('redirect_uris', `"${uri.slice(0, 100)}" is not a URL`);
    }
    const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
    if (url.hash || uri.includes('#')) throw new InvalidRequest('redirect_uris', 'must not have a fragment');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      throw new InvalidRequest('redirect_uris', 'must be https, http on a loopback address, or urn:ietf:wg:oauth:2.0:oob');
    }
    if (uri.length > 2000 || /\s/.test(uri)) throw new InvalidRequest('redirect_uris', 'must be under 2000 characters with no spaces');
  }
  return uris;
}
