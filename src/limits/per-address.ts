import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { sourceOf } from './source-address.js';

/**
 * A per-address limit kept in this process's memory: for anonymous requests,
 * whose counting must cost no durable write. Answers the seconds to wait
 * (0: go ahead). With several processes, each counts its own share.
 * An IPv6 address counts by its network of `ipv6Prefix` bits (source-address.ts).
 */
export function perAddressPerMinute(points: number, ipv6Prefix: number): (address: string) => Promise<number> {
  const limiter = new RateLimiterMemory({ points, duration: 60 });
  return async (address) => {
    try {
      await limiter.consume(sourceOf(address, ipv6Prefix), 1);
      return 0;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    }
  };
}
