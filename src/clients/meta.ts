import { InvalidRequest } from '../errors.js';
import { CLIENT_LIMITS } from './limits.js';

/**
 * A key's metadata (issue 28 item 3): the customer's own small JSON object,
 * returned with the key wherever it is read or verified so a product can map
 * a key to its own records without a lookup. Never logged.
 */
export type KeyMeta = Readonly<Record<string, unknown>>;

const { metaBytes: MAX_BYTES, metaDepth: MAX_DEPTH } = CLIENT_LIMITS;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Levels of nesting: an object or array is one level more than its deepest member; a scalar is none. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const members = Array.isArray(value) ? value : Object.values(value);
  return 1 + members.reduce<number>((deepest, m) => Math.max(deepest, depthOf(m)), 0);
}

/** `meta` as a caller sends it: a JSON object (null: none), at most 1 KB of JSON, nested at most 3 levels. */
export function checkMeta(meta: unknown): KeyMeta | null {
  if (meta === undefined || meta === null) return null;
  if (!isObject(meta)) throw new InvalidRequest('meta', 'must be a JSON object or null');
  if (depthOf(meta) > MAX_DEPTH) throw new InvalidRequest('meta', `must nest at most ${MAX_DEPTH} levels deep`);
  if (Buffer.byteLength(JSON.stringify(meta), 'utf8') > MAX_BYTES)
    throw new InvalidRequest('meta', `must be at most ${MAX_BYTES} bytes as JSON`);
  return meta;
}

/** The stored text back as an object; a row edited by hand into something else reads as no metadata. */
export function metaFromText(text: string | null | undefined): KeyMeta | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

export const metaToText = (meta: KeyMeta | null): string | null => (meta === null ? null : JSON.stringify(meta));
