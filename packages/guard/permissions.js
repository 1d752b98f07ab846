// Permissions of @keyport/guard (`resource:action`), as keyport's /keys/verify checks them.
/**
 * Whether the permissions a key holds grant every one a route needs
 * (`resource:action`): held as is, or by a wildcard, `projects:*` for every
 * action on projects, `*:read` for reading everything. keyport checks the
 * same at /keys/verify; this is for calls served from a lease.
 */
export function grantsAll(held, needed) {
  return needed.every((n) => {
    const i = n.indexOf(':');
    const [resource, action] = [n.slice(0, i), n.slice(i + 1)];
    return held.some((h) => h === n || h === `${resource}:*` || h === `*:${action}` || h === '*:*');
  });
}
