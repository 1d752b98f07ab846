import { InvalidRequest } from '../errors.js';
import { PERMISSION_PATTERN } from '../config.js';
import { CLIENT_LIMITS } from './limits.js';

/*
 * Permissions (issue 28 item 2): `resource:action`, beside the scope
 * catalogue. A held permission may be a wildcard: `projects:*` grants every
 * action on projects, `*:read` reading everything (the read-only preset).
 * What a key may do is its own permissions and those of its roles, read at
 * each verification, so a role's change is every key's change at once.
 */

/** Whether `held` grants the one permission `needed` (itself never a wildcard match of more). */
export function grants(held: readonly string[], needed: string): boolean {
  const i = needed.indexOf(':');
  const [resource, action] = [needed.slice(0, i), needed.slice(i + 1)];
  return held.some((h) => h === needed || h === `${resource}:*` || h === `*:${action}` || h === '*:*');
}

/** The permissions of `needed` that `held` does not grant. */
export const missingPermissions = (held: readonly string[], needed: readonly string[]): string[] =>
  needed.filter((n) => !grants(held, n));

/** Resources the catalogue names (`projects` of `projects:read`). */
const resourcesOf = (catalogue: Readonly<Record<string, string>>) =>
  new Set(Object.keys(catalogue).map((p) => p.slice(0, p.indexOf(':'))));

/**
 * Whether `permission` may be given: well formed, and when the product has
 * a catalogue, in it (a wildcard over a resource it names; `*:action` and
 * `*:*` always). An empty catalogue allows any well-formed permission.
 */
export function permissionProblem(permission: string, catalogue: Readonly<Record<string, string>>): string | undefined {
  if (!PERMISSION_PATTERN.test(permission)) return `"${permission.slice(0, 100)}" is not resource:action`;
  const known = Object.keys(catalogue);
  if (known.length === 0 || Object.hasOwn(catalogue, permission)) return undefined;
  const [resource, action] = permission.split(':') as [string, string];
  if (resource === '*') return undefined;
  if (action === '*' && resourcesOf(catalogue).has(resource)) return undefined;
  return `unknown permission "${permission}"; known: ${known.join(' ')}`;
}

/** A list as a caller sends it (a key's or a role's): checked, without repeats, sorted. */
export function checkPermissions(
  list: readonly string[] | undefined | null,
  catalogue: Readonly<Record<string, string>>,
  field = 'permissions',
): readonly string[] {
  if (list === undefined || list === null) return [];
  if (list.length > CLIENT_LIMITS.permissionsCount)
    throw new InvalidRequest(field, `at most ${CLIENT_LIMITS.permissionsCount}`);
  for (const [i, p] of list.entries()) {
    const problem = typeof p === 'string' ? permissionProblem(p, catalogue) : 'must be a string';
    if (problem) throw new InvalidRequest(`${field}.${i}`, problem);
  }
  return [...new Set(list)].sort();
}

/** A JSON list of strings as stored; anything else (a row edited by hand) reads as none. */
export function listFromText(text: string | null | undefined): readonly string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export const listToText = (list: readonly string[]): string | null => (list.length ? JSON.stringify(list) : null);
