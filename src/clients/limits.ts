/**
 * The bounds of what a client may be given, owned by the domain: the client
 * service checks them for every entry point (admin API, dashboard, CLI) and
 * the admin API's schemas read them, so each bound is written once.
 */
export const CLIENT_LIMITS = {
  /** A key's or app's name, in characters (after trimming). */
  nameLength: 200,
  /** Scopes one client may hold. */
  scopesCount: 50,
  /** One scope's name, in characters. */
  scopeLength: 100,
  /** The furthest expiry a key may be given, in days (about ten years). */
  expiresInDaysMax: 3650,
  /** Credits a key may hold or be refilled with at once. */
  creditsMax: 1_000_000_000_000,
  /** How long a rotated secret may keep working, in seconds (a week). */
  gracePeriodSecondsMax: 7 * 86_400,
  /** A customer-chosen secret's length (docs/contract.md). */
  chosenSecretLength: { min: 10, max: 30 },
  /** Redirect URIs one app may register, and each one's length. */
  redirectUrisCount: 10,
  redirectUriLength: 2000,
  /** A public key as sent (PEM text), in characters. */
  publicKeyLength: 16_384,
  /** A customer's `kid`, in characters. */
  kidLength: 100,
  /** A key's `meta` object: its JSON text in bytes (UTF-8), and how deeply it may nest (the object itself is level 1). */
  metaBytes: 1024,
  metaDepth: 3,
  /** Permissions one key or one role may hold (issue 28 item 2), roles one key may hold, a role's name. */
  permissionsCount: 50,
  rolesCount: 20,
  roleNameLength: 100,
  /** A key's `allowed_ips`: addresses and CIDR ranges. */
  allowedIpsCount: 50,
} as const;
