import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Config } from '../config.js';
import { InsufficientPermissions, InvalidToken, NotFound } from '../errors.js';
import type { TeamStore } from '../teams/store.js';
import { keyportMetadata } from '../clients/metadata.js';
import type { PlanLimits } from '../limits/plan-limits.js';
import { currentScope } from '../clients/scopes.js';

/** Who is calling the admin API. */
export type Caller =
  | { readonly type: 'operator'; readonly id: null }
  | {
      readonly type: 'client';
      readonly id: string;
      readonly teamId: number;
      readonly clientId: string;
      readonly limits: Limits;
    }
  | {
      readonly type: 'person';
      readonly id: string;
      readonly teamId: number;
      readonly userId: number;
      readonly clientId: string;
      readonly limits: Limits;
    };

type Limits = readonly [number, number, number];

export const MANAGE_SCOPE = 'keys:manage';

export interface CallerAuth {
  /** Resolves the Bearer token of a request, or throws `invalid_token`. */
  authenticate(authorization: string | undefined): Promise<Caller>;
  /** Throws `not_found` (no hint the team exists) unless the caller may act on the team. */
  authorizeTeam(caller: Caller, teamId: number): Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function createCallerAuth({
  config,
  provider,
  teams,
  plans,
}: {
  config: Config;
  provider: Provider;
  teams: TeamStore;
  plans: PlanLimits;
}): CallerAuth {
  const operatorDigest = config.adminToken ? digest(config.adminToken) : undefined;

  async function fromAccessToken(value: string): Promise<Caller | undefined> {
    const token = (await provider.ClientCredentials.find(value)) ?? (await provider.AccessToken.find(value));
    if (!token?.isValid || !token.clientId) return undefined;
    // The client is read again: a revoked or expired client's tokens stop working at once.
    const client = await provider.Client.find(token.clientId);
    const meta = client ? keyportMetadata(client) : undefined;
    if (!meta || meta.team_id === null) return undefined;
    // A valid token without the scope is a permission problem (RFC 6750 §3.1 insufficient_scope), not an unknown token.
    // Judged against the client's scopes now, not when the token was issued.
    if (!currentScope(token.scope, client!.scope).split(' ').includes(MANAGE_SCOPE))
      throw new InsufficientPermissions(`the token lacks the ${MANAGE_SCOPE} scope`);
    const limits = plans.limitsFor(meta);
    const accountId = (token as { accountId?: string }).accountId;
    if (accountId === undefined)
      return { type: 'client', id: token.clientId, teamId: meta.team_id, clientId: token.clientId, limits };
    return {
      type: 'person',
      id: accountId,
      teamId: meta.team_id,
      userId: Number(accountId),
      clientId: token.clientId,
      limits,
    };
  }

  return {
    async authenticate(authorization) {
      const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(authorization ?? '');
      if (!match) throw new InvalidToken('an Authorization: Bearer token is required');
      const value = match[1]!;
      // Constant time: compare digests, so neither content nor length leaks.
      if (operatorDigest && timingSafeEqual(digest(value), operatorDigest)) return { type: 'operator', id: null };
      const caller = await fromAccessToken(value);
      if (!caller) throw new InvalidToken('the token is unknown, expired or revoked');
      return caller;
    },

    async authorizeTeam(caller, teamId) {
      if (caller.type === 'operator') return;
      if (caller.teamId !== teamId) throw new NotFound('not found');
      if (caller.type === 'person') {
        // Checked at every call: a demoted admin loses access at once.
        const membership = await teams.findMembership(teamId, caller.userId);
        if (membership?.role !== 'admin') throw new InsufficientPermissions('only team admins may manage keys');
      }
    },
  };
}
