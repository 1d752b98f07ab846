import { InvalidRequest } from '../../errors.js';
import type { RoleService } from '../../clients/roles.js';

/** `-allow-ip` is repeatable: each one more address or CIDR range. */
export const collectAddress = (value: string, previous: string[] = []) => [...previous, value];

/** `-meta '{json}'`: the key's metadata as JSON text (`null` clears it); checked by the client service. */
export function metaFlag(text: string | undefined): Record<string, unknown> | null | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown> | null;
  } catch {
    throw new InvalidRequest('meta', 'must be a JSON object, e.g. -meta \'{"customer_id":"cus_42"}\'');
  }
}

/**
 * `-role` names a role by its id (`read_only`, or a team role's number) or,
 * failing that, by its name when exactly one of the team's roles has it. An
 * unknown one is left as given: the client service refuses it by name.
 */
export async function roleIdsOf(
  roles: Pick<RoleService, 'list'>,
  teamId: number,
  given: readonly string[] | undefined,
): Promise<string[] | undefined> {
  if (given === undefined) return undefined;
  const known = await roles.list(teamId);
  return given.map((g) => {
    if (known.some((r) => r.id === g)) return g;
    const named = known.filter((r) => r.name === g);
    if (named.length > 1) throw new InvalidRequest('role', `${named.length} roles are named "${g}"; give its id`);
    return named[0]?.id ?? g;
  });
}
