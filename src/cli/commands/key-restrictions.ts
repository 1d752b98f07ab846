import { InvalidRequest } from '../../errors.js';

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
