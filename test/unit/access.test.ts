import { describe, expect, it } from 'vitest';
import { authorize, decide, may, TEAM_ACTIONS, type Decision, type TeamAction } from '../../src/access/authorize.js';
import { actorOf, type Principal } from '../../src/access/principal.js';
import { InsufficientPermissions, NotFound } from '../../src/errors.js';

const TEAM = 7;
const OTHER = 8;
const READS: readonly TeamAction[] = ['keys:read', 'audit:read', 'members:read'];

const manager = (person?: {
  userId: number;
  role: 'admin' | 'member' | null;
}): Extract<Principal, { kind: 'client' }> => ({
  kind: 'client',
  clientId: 'c1',
  teamId: TEAM,
  scopes: ['api:read', 'keys:manage'],
  ...(person ? { person } : {}),
});

/** Every principal, and what it gets in its own team for each action. */
const CASES: ReadonlyArray<{ name: string; principal: Principal; own: (action: TeamAction) => Decision }> = [
  { name: 'the operator', principal: { kind: 'operator' }, own: () => 'allowed' },
  {
    name: 'a team admin',
    principal: { kind: 'person', userId: 1, teamId: TEAM, role: 'admin' },
    own: () => 'allowed',
  },
  {
    name: 'a team member',
    principal: { kind: 'person', userId: 2, teamId: TEAM, role: 'member' },
    own: (action) => (READS.includes(action) ? 'allowed' : 'role_forbids'),
  },
  { name: 'a client with keys:manage', principal: manager(), own: () => 'allowed' },
  {
    name: 'a client without keys:manage',
    principal: { kind: 'client', clientId: 'c2', teamId: TEAM, scopes: ['api:read', 'api:write'] },
    own: () => 'missing_scope',
  },
  {
    name: 'an app acting for an admin',
    principal: manager({ userId: 1, role: 'admin' }),
    own: () => 'allowed',
  },
  {
    name: 'an app acting for a member',
    principal: manager({ userId: 2, role: 'member' }),
    own: () => 'not_admin',
  },
  {
    name: 'an app acting for someone who left the team',
    principal: manager({ userId: 3, role: null }),
    own: () => 'not_admin',
  },
  {
    name: 'an app without keys:manage acting for an admin',
    principal: {
      kind: 'client',
      clientId: 'c3',
      teamId: TEAM,
      scopes: ['api:read'],
      person: { userId: 1, role: 'admin' },
    },
    own: () => 'missing_scope',
  },
  { name: 'a resource server', principal: { kind: 'resource_server', clientId: 'rs' }, own: () => 'other_team' },
  { name: "the product's sync token", principal: { kind: 'sync_token', tokenId: 1 }, own: () => 'sync_only' },
];

describe('authorize: every principal × action', () => {
  describe.each(CASES)('$name', ({ principal, own }) => {
    it.each(TEAM_ACTIONS)('%s in its own team', (action) => {
      expect(decide(principal, TEAM, action)).toBe(own(action));
      expect(may(principal, TEAM, action)).toBe(own(action) === 'allowed');
    });

    it.each(TEAM_ACTIONS)("%s in another team: not_found, unless it is the operator's", (action) => {
      const decision = decide(principal, OTHER, action);
      if (principal.kind === 'operator') expect(decision).toBe('allowed');
      // Product-wide: every team is refused to it alike (403), none hidden.
      else if (principal.kind === 'sync_token') expect(decision).toBe('sync_only');
      else expect(decision).toBe('other_team');
    });
  });

  it('maps each decision to one error: another team is not_found, a missing right insufficient_permissions', () => {
    const member: Principal = { kind: 'person', userId: 2, teamId: TEAM, role: 'member' };
    expect(() => authorize(member, TEAM, 'keys:read')).not.toThrow();
    expect(() => authorize(member, OTHER, 'keys:read')).toThrow(NotFound);
    // The answer names nothing of the other team: the same words as for a team that does not exist.
    expect(() => authorize(member, OTHER, 'keys:read')).toThrow(/^not found$/);
    expect(() => authorize(member, TEAM, 'keys:manage')).toThrow(InsufficientPermissions);
    expect(() => authorize(manager({ userId: 2, role: 'member' }), TEAM, 'keys:read')).toThrow(
      /only team admins may manage keys/,
    );
    const plain: Principal = { kind: 'client', clientId: 'c', teamId: TEAM, scopes: [] };
    expect(() => authorize(plain, TEAM, 'keys:read')).toThrow(/lacks the keys:manage scope/);
    expect(() => authorize(plain, OTHER, 'keys:read')).toThrow(NotFound);
    const sync: Principal = { kind: 'sync_token', tokenId: 1 };
    expect(() => authorize(sync, TEAM, 'keys:read')).toThrow(InsufficientPermissions);
    expect(() => authorize(sync, OTHER, 'keys:read')).toThrow(/a sync token may call only the sync routes/);
  });

  it('the audit log names the person an app acts for, else the client', () => {
    expect(actorOf({ kind: 'operator' })).toEqual({ type: 'operator', id: null });
    expect(actorOf({ kind: 'sync_token', tokenId: 3 })).toEqual({ type: 'sync_token', id: '3' });
    expect(actorOf({ kind: 'person', userId: 4, teamId: TEAM, role: 'member' })).toEqual({
      type: 'person',
      id: '4',
      teamId: TEAM,
    });
    expect(actorOf(manager())).toEqual({ type: 'client', id: 'c1', teamId: TEAM });
    expect(actorOf(manager({ userId: 5, role: 'admin' }))).toEqual({ type: 'person', id: '5', teamId: TEAM });
  });
});
