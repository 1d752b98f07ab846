import type { UsageOutcome } from '../clients/key-usage.js';
import { assertNever } from '../errors.js';
import type { VerifyOutcome } from './outcome.js';

/**
 * The one mapping from an outcome to the usage counts (docs/contract.md,
 * usage per hour by outcome, whose columns are these four): the calls a
 * usable key made. A key that is unknown, revoked, expired or whose team
 * has no API access counts nothing, as before the pipeline: its usage page
 * reports what the key's holder may do, not what was refused at the door.
 */
export function usageOutcomeOf(outcome: VerifyOutcome): UsageOutcome | undefined {
  switch (outcome.kind) {
    case 'not_found':
    case 'revoked':
    case 'expired':
    case 'no_api_access':
      return undefined;
    // A call refused for a permission counts where one refused for a scope does: refused for its rights.
    case 'forbidden_ip':
      return 'forbidden_ip';
    case 'insufficient_scope':
    case 'insufficient_permissions':
      return 'insufficient_scope';
    case 'rate_limited':
      return 'rate_limited';
    case 'usage_exceeded':
      return 'usage_exceeded';
    case 'valid':
      return 'valid';
    default:
      return assertNever(outcome);
  }
}
