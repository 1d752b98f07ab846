import ipaddr from 'ipaddr.js';

/** The network an IPv6 source is counted by, unless configured: one host (or one customer) is usually given a /64. */
export const DEFAULT_IPV6_THROTTLE_PREFIX = 64;

/**
 * The source a per-address throttle counts a request under: an IPv4
 * address as itself (an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`, too), an
 * IPv6 address by its network of `ipv6Prefix` bits (`2001:db8:1:2::/64`),
 * since whoever holds one address of a /64 can send from all of them.
 * Anything that is no IP address (a unix socket) is counted as it is.
 */
export function sourceOf(address: string, ipv6Prefix: number = DEFAULT_IPV6_THROTTLE_PREFIX): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  // A zone (fe80::1%eth0) names an interface of this host, not another source.
  const bare = new ipaddr.IPv6((parsed as ipaddr.IPv6).parts);
  if (ipv6Prefix >= 128) return bare.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${bare.toString()}/${ipv6Prefix}`).toString()}/${ipv6Prefix}`;
}
