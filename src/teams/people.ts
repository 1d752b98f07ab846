import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { InvalidRequest } from '../errors.js';

/** bcrypt cost for people's passwords, the same as for client secrets. */
const PASSWORD_COST = 10;

/** Checks a person's password and hashes it; bcrypt reads at most 72 bytes, so a longer one would be silently cut. */
export async function hashPassword(password: string): Promise<string> {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (password.length < 8 || bytes > 72) throw new InvalidRequest('password', 'must be 8 characters to 72 bytes long');
  return bcrypt.hash(password, PASSWORD_COST);
}

/** A password for a reset the operator hands over: 144 random bits, URL-safe (24 characters). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
