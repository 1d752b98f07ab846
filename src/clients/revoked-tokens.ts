import type { Tx } from '../unit-of-work.js';

/**
 * JWT access tokens revoked before they expired (issue 27 item 2). A JWT
 * access token is not stored (it carries its own claims), so its revocation
 * is: its `jti`, until its `exp`.
 */
export interface RevokedTokenStore {
  /** Records that the token `jti` of `clientId` is revoked; `expiresAt` in Unix seconds. Idempotent. */
  add(jti: string, clientId: string, expiresAt: number, tx?: Tx): Promise<void>;
  /** Whether `jti` was revoked. */
  has(jti: string): Promise<boolean>;
  /** Deletes records of tokens that expired before `beforeSeconds`; how many. */
  deleteExpired(beforeSeconds: number): Promise<number>;
}
