import { createHash, timingSafeEqual } from 'node:crypto';
import { addressRefusal, allowsAddress } from '../clients/allowed-ips.js';
import { InsufficientPermissions, InvalidToken, assertNever } from '../errors.js';
import type { KeyportClientMetadata } from '../clients/metadata.js';
import { currentScope } from '../clients/scopes.js';
import type { TeamStore } from '../teams/store.js';
import type { KeyInspector } from '../verification/verify.js';
import type { Principal } from './principal.js';
import type { SyncTokens } from '../teams/sync-tokens.js';

/** An access token this server issued, as the access module needs it (the composition wires oidc-provider in). */
export interface AccessTokenLookup {
  /** The live token of this value; undefined when unknown, expired or revoked. */
  find(
    value: string,
  ): Promise<
    { clientId: string; scope?: string; accountId?: string; forApis: boolean; expiresAt?: number } | undefined
  >;
}

/** A client as it stands now; undefined when unknown, revoked or expired. */
export interface ClientMetadataLookup {
  find(clientId: string): Promise<{ scope?: string; metadata: KeyportClientMetadata } | undefined>;
}

/** A Bearer caller of the admin API: who it is and, for a client, whose plan budget it spends. */
export interface BearerCaller {
  readonly principal: Exclude<Principal, { kind: 'resource_server' }>;
  readonly client?: KeyportClientMetadata & { readonly clientId: string };
}

export interface CallerAuth {
  /** Resolves the Bearer token of a request, or throws `invalid_token`. */
  /** `address`: the caller's, as `trusted_proxies` yields it; an API key with an allowlist is used only from an address it names. */
  authenticate(authorization: string | undefined, address?: string): Promise<BearerCaller>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function createCallerAuth({
  adminToken,
  tokens,
  keys,
  clients,
  teams,
  syncTokens,
}: {
  adminToken: string | undefined;
  tokens: AccessTokenLookup;
  /** API keys used directly (BugBrain creates keys with a key): the verification pipeline's checks, nothing spent. */
  keys: KeyInspector;
  clients: ClientMetadataLookup;
  teams: Pick<TeamStore, 'findMembership'>;
  /** The product's sync tokens (`keyport_sync_…`), read at each call: a revoked one is refused at once. */
  syncTokens?: Pick<SyncTokens, 'authenticate'>;
}): CallerAuth {
  const operatorDigest = adminToken ? digest(adminToken) : undefined;

  async function fromAccessToken(value: string): Promise<BearerCaller | undefined> {
    const token = await tokens.find(value);
    // The client is read again: a revoked or expired client's tokens stop working at once.
    const client = token && (await clients.find(token.clientId));
    if (!token || !client || client.metadata.team_id === null) return undefined;
    const teamId = client.metadata.team_id;
    const scopes = currentScope(token.scope, client.scope).split(' ').filter(Boolean);
    const userId = token.accountId === undefined ? undefined : Number(token.accountId);
    // The person's role now, not when they approved the app: a demoted admin loses access at once.
    const membership = userId === undefined ? undefined : await teams.findMembership(teamId, userId);
    return {
      principal: {
        kind: 'client',
        clientId: token.clientId,
        teamId,
        scopes,
        ...(userId === undefined ? {} : { person: { userId, role: membership?.role ?? null } }),
      },
      client: { ...client.metadata, clientId: token.clientId },
    };
  }

  /**
   * An API key as the caller, under its token's rules: its team only, its scopes now, its
   * team's plan access, and (in the caller steps) its plan budget; audited as the key.
   */
  async function fromApiKey(value: string, address: string | undefined): Promise<BearerCaller | undefined> {
    const outcome = await keys.inspect(value);
    switch (outcome.kind) {
      case 'not_found':
        return undefined;
      case 'revoked':
        throw new InvalidToken('the API key is revoked');
      case 'expired':
        throw new InvalidToken('the API key has expired');
      case 'no_api_access':
        throw new InsufficientPermissions(
          outcome.key.client.teamSuspended ? 'the team is suspended' : "the team's plan has no API access",
        );
      // Inspection spends nothing and asks for no scope: these never come from it.
      case 'rate_limited':
      case 'usage_exceeded':
      case 'insufficient_scope':
      case 'insufficient_permissions':
      case 'forbidden_ip':
        return undefined;
      case 'valid': {
        const { clientId, teamId, allowedIps } = outcome.key.client;
        if (!allowsAddress(allowedIps, address)) throw new InsufficientPermissions(addressRefusal(address));
        const client = await clients.find(clientId);
        if (!client || teamId === null) return undefined;
        return {
          principal: { kind: 'client', clientId, teamId, scopes: outcome.key.scopes },
          client: { ...client.metadata, clientId },
        };
      }
      default:
        return assertNever(outcome);
    }
  }

  return {
    async authenticate(authorization, address) {
      const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(authorization ?? '');
      if (!match) throw new InvalidToken('an Authorization: Bearer token is required');
      const value = match[1]!;
      // Constant time: compare digests, so neither content nor length leaks.
      if (operatorDigest && timingSafeEqual(digest(value), operatorDigest)) return { principal: { kind: 'operator' } };
      const syncToken = await syncTokens?.authenticate(value);
      if (syncToken) return { principal: { kind: 'sync_token', tokenId: syncToken.id } };
      const caller = (await fromAccessToken(value)) ?? (await fromApiKey(value, address));
      if (!caller) throw new InvalidToken('the token is neither a live access token nor an API key of this server');
      return caller;
    },
  };
}
