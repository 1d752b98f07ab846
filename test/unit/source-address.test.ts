import { describe, expect, it } from 'vitest';
import { sourceOf } from '../../src/limits/source-address.js';

describe('the source a per-address throttle counts (ipv6_throttle_prefix)', () => {
  it('an IPv6 address counts by its network, a /64 by default', () => {
    expect(sourceOf('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('2001:db8:1:2::5', 48)).toBe('2001:db8:1::/48');
    expect(sourceOf('2001:db8:1:2::5', 128)).toBe('2001:db8:1:2::5');
    expect(sourceOf('fe80::1%eth0')).toBe('fe80::/64');
  });

  it('an IPv4 address, IPv4-mapped or not, counts as itself; anything else as it is', () => {
    expect(sourceOf('203.0.113.5')).toBe('203.0.113.5');
    expect(sourceOf('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(sourceOf('::ffff:cb00:7105')).toBe('203.0.113.5');
    expect(sourceOf('')).toBe('');
  });
});
