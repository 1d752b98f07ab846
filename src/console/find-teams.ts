import type { ClientService } from '../clients/service.js';
import type { ClientStore } from '../clients/store.js';
import { secretHint } from '../clients/secrets.js';
import type { TeamStore } from '../teams/store.js';
import type { Team } from '../teams/team.js';
import { canonicalEmail } from '../teams/email.js';

export interface FindDeps {
  readonly teams: TeamStore;
  readonly clients: ClientStore;
  readonly clientService: ClientService;
}

export interface Found {
  readonly team: Team;
  /** How the query matched: "team id", "admin's email", "visible prefix", … */
  readonly by: string;
}

/**
 * Finds teams by id, name (part of it), external id, a person's email, a key's
 * client id or its visible prefix (`keyport_sk_prod_95Nw…`), as support is asked.
 */
export async function findTeams(deps: FindDeps, typed: string): Promise<Found[]> {
  const q = typed.trim().slice(0, 200);
  if (!q) return [];
  const found = new Map<number, Found>();
  const add = (team: Team | undefined, by: string) => {
    if (team && !found.has(team.id)) found.set(team.id, { team, by });
  };
  if (/^\d{1,10}$/.test(q)) add(await deps.teams.findTeam(Number(q)), 'team id');
  add(await deps.teams.findTeamByExternalId(q), 'external id');
  if (q.includes('@')) {
    const user = await deps.teams.findUserByEmail(canonicalEmail(q));
    for (const m of user ? await deps.teams.membershipsOf(user.id) : [])
      add(await deps.teams.findTeam(m.teamId), `${m.role}'s email`);
  }
  const client = await deps.clients.findById(q);
  if (client?.teamId) add(await deps.teams.findTeam(client.teamId), 'client id');
  if (/_sk_/.test(q)) {
    const hint = secretHint(q.replace(/[.…]+$/, ''));
    for (const c of hint.length >= 4 ? await deps.clients.findBySecretHint(hint, 20) : [])
      if (c.teamId) add(await deps.teams.findTeam(c.teamId), 'visible key prefix');
  }
  const lower = q.toLowerCase();
  for (const team of await deps.teams.listTeams()) if (team.name.toLowerCase().includes(lower)) add(team, 'name');
  return [...found.values()].slice(0, 50);
}
