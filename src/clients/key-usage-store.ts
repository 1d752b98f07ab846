/** What a direct use of a key came to, as counted per hour (docs/contract.md usage). */
export type UsageOutcome = 'valid' | 'rate_limited' | 'usage_exceeded' | 'insufficient_scope' | 'forbidden_ip';
export const OUTCOMES: readonly UsageOutcome[] = [
  'valid',
  'rate_limited',
  'usage_exceeded',
  'insufficient_scope',
  'forbidden_ip',
];

export type OutcomeCounts = Record<UsageOutcome, number>;

/** Calls of one key in one hour (epoch seconds, on the hour), by outcome. */
export interface HourCount {
  readonly clientId: string;
  readonly hour: number;
  readonly counts: OutcomeCounts;
}

/** A source address a key was used from: first and last seen (epoch seconds), and how often. */
export interface AddressSeen {
  readonly clientId: string;
  readonly address: string;
  first: number;
  last: number;
  count: number;
}

/** How many source addresses are kept per key, the most recently seen. */
export const ADDRESSES_KEPT = 20;

/** Where key usage is kept (`key_usage_hourly`, `key_usage_addresses`). */
export interface KeyUsageStore {
  /**
   * Adds a batch, all or nothing: counts add up, an address keeps its first
   * sighting and its latest, and only the ADDRESSES_KEPT most recently seen
   * addresses of each key written to are kept. A batch added again under the
   * same `batchId` (its first try's answer was lost) adds nothing the second time.
   */
  add(hours: readonly HourCount[], addresses: readonly AddressSeen[], batchId: string): Promise<void>;
  /** A key's hourly counts from `fromHour` to `to` (epoch seconds), oldest first. */
  hourly(clientId: string, fromHour: number, to: number): Promise<HourCount[]>;
  /** A key's addresses, most recently seen first. */
  addresses(clientId: string, limit: number): Promise<AddressSeen[]>;
  /** Deletes hourly counts of hours before `before` (epoch seconds). */
  deleteHoursBefore(before: number): Promise<number>;
}
