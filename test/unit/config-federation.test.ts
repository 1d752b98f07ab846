import { describe, expect, it } from 'vitest';
import { maskedConfig } from '../../src/cli/commands/config.js';
import { loadConfig } from '../../src/config.js';

const OIDC = { issuer: 'https://id.product.example', client_id: 'kp', client_secret: 'product-secret-value-1' };

describe('settings for joining keyport to the product (issue 26)', () => {
  it('keyport config masks the product client secret', () => {
    const shown = JSON.stringify(maskedConfig(loadConfig({ env: {}, overrides: { dashboard_oidc: OIDC } })));
    expect(shown).not.toContain('product-secret-value-1');
    expect(shown).toContain('"client_id":"kp"');
  });

  it('handoff_keys without handoff_issuer stops the start, naming the key', () => {
    expect(() => loadConfig({ env: {}, overrides: { handoff_keys: '/tmp/x.jwks' } })).toThrow(/handoff_issuer/);
  });

  it('the hand-off audience defaults to ISSUER/dashboard; claims default to team and role; passwords stay on', () => {
    const config = loadConfig({
      env: {},
      overrides: { issuer: 'https://keys.example/', handoff_keys: 'k', handoff_issuer: 'p', dashboard_oidc: OIDC },
    });
    expect(config.handoff?.audience).toBe('https://keys.example/dashboard');
    expect(config.dashboardOidc).toMatchObject({ teamClaim: 'team', roleClaim: 'role' });
    expect(config.dashboardPasswordSignIn).toBe(true);
  });
});
