import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** Issue 28 item 2: the permission catalogue and the product's roles, checked at start-up with the key named. */
describe('permissions and roles in the configuration', () => {
  it('every product has the read-only preset, beside its own roles', () => {
    const config = loadConfig({
      env: {},
      overrides: { roles: { qa_lead: { name: 'QA lead', permissions: ['test_runs:*'] } } },
    });
    expect(config.productRoles.read_only).toEqual({ name: 'Read only', permissions: ['*:read'] });
    expect(config.productRoles.qa_lead).toEqual({ name: 'QA lead', permissions: ['test_runs:*'] });
    expect(Object.keys(loadConfig({ env: {} }).productRoles)).toEqual(['read_only']);
  });

  it.each([
    [
      { roles: { qa: { name: 'QA', permissions: ['projects'] } } },
      /roles\.qa\.permissions\.0: must be resource:action/,
    ],
    [
      { permissions: { 'projects:read': 'Read' }, roles: { qa: { name: 'QA', permissions: ['invoices:read'] } } },
      /roles\.qa\.permissions\.0: "invoices:read" is not in the permission catalogue/,
    ],
    [{ roles: { '1028': { name: 'Numbered', permissions: [] } } }, /roles\.1028: /],
    [{ permissions: { 'projects:*': 'All' } }, /permissions\.projects:\*: /],
  ])('a bad setting names its key: %j', (overrides, message) => {
    const attempt = () => loadConfig({ env: {}, overrides });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
  });

  it('a wildcard over a catalogued resource, and *:action, are accepted', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        permissions: { 'projects:read': 'Read', 'projects:write': 'Write' },
        roles: { lead: { name: 'Lead', permissions: ['projects:*', '*:read'] } },
      },
    });
    expect(config.productRoles.lead!.permissions).toEqual(['projects:*', '*:read']);
  });
});
