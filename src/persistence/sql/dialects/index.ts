import type { Dialect } from '../dialect.js';
import { mysql } from './mysql.js';
import { postgres } from './postgres.js';
import { sqlite } from './sqlite.js';

export const DIALECTS: readonly Dialect[] = [sqlite, mysql, postgres];

/** The dialect of a database URL, or undefined for a scheme keyport does not speak. */
export function dialectForUrl(url: string): Dialect | undefined {
  return DIALECTS.find((d) => d.schemes.some((scheme) => url.startsWith(scheme)));
}
