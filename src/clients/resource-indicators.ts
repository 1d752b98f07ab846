/**
 * The resource indicator (RFC 8707) of a resource server that chose JWT access
 * tokens: a client asks /token with `resource=urn:keyport:rs:<its client_id>`,
 * and the token's `aud` is that indicator, which its guards check.
 */
const PREFIX = 'urn:keyport:rs:';

export function resourceIndicatorOf(clientId: string): string {
  return `${PREFIX}${clientId}`;
}

/** The resource server's client_id an indicator names, or undefined when it names none. */
export function resourceServerOf(indicator: string): string | undefined {
  return indicator.startsWith(PREFIX) && indicator.length > PREFIX.length ? indicator.slice(PREFIX.length) : undefined;
}
