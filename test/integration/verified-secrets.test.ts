import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { secretMatches } from '../../src/clients/authenticate.js';
import { createVerifiedSecrets } from '../../src/clients/verified-secrets.js';
import type { AuthFailures } from '../../src/limits/auth-failures.js';
import { createBcryptGate } from '../../src/limits/bcrypt-gate.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

describe.each(DATABASES)('remembered secret verifications on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;

  const token = (id: string, secret: string) =>
    postForm(
      `${server.url}/token`,
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(id, secret) },
    );
  const bcryptRuns = () => server.keyport.limits.bcrypt.started;
  /** A key whose secret has just been verified, so it is remembered. */
  async function usedKey() {
    const sa = await seedServiceAccount(server.keyport);
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(200);
    return sa;
  }

  beforeAll(async () => {
    const created = await database.create();
    drop = created.drop;
    server = await startServer(created.url);
  });

  afterAll(async () => {
    await server.close();
    await drop();
  });

  it('a request that waited on the throttle while the same check finished runs no second bcrypt (the CI race)', async () => {
    const { failures } = server.keyport.limits;
    // The second request's throttle read is held until the first request's check is over.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    const slowThrottle: AuthFailures = {
      ...failures,
      retryAfter: async (...args) =>
        (reads += 1) === 2 ? held.then(() => failures.retryAfter(...args)) : failures.retryAfter(...args),
    };
    const deps = { failures: slowThrottle, bcrypt: createBcryptGate(), verified: createVerifiedSecrets() };
    const hash = await bcrypt.hash('Chosen-Secret-9', 10);
    const check = () =>
      secretMatches(deps, {
        clientId: 'sa-race',
        secrets: ['Chosen-Secret-9'],
        hashes: [hash],
        address: '203.0.113.9',
      });
    const first = check();
    const second = check();
    expect(await first).toBe(true);
    release();
    expect(await second).toBe(true);
    expect(deps.bcrypt.started).toBe(1);
  });

  it('a secret verified once is not checked with bcrypt again', async () => {
    const sa = await usedKey();
    const before = bcryptRuns();
    for (let i = 0; i < 3; i++) expect((await token(sa.clientId, sa.clientSecret)).status).toBe(200);
    expect(bcryptRuns()).toBe(before);
  });

  it('failures are never remembered: each wrong secret is checked', async () => {
    const sa = await usedKey();
    const before = bcryptRuns();
    expect((await token(sa.clientId, 'keyport_sk_prod_wrong')).status).toBe(401);
    expect((await token(sa.clientId, 'keyport_sk_prod_wrong')).status).toBe(401);
    expect(bcryptRuns()).toBe(before + 2);
  });

  it('does not outlive a revocation', async () => {
    const sa = await usedKey();
    await server.keyport.clientService.revoke(sa.clientId);
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
  });

  it('does not outlive a rotation', async () => {
    const sa = await usedKey();
    const { clientSecret } = await server.keyport.clientService.regenerateSecret(sa.clientId, {});
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
    expect((await token(sa.clientId, clientSecret!)).status).toBe(200);
  });

  it('does not outlive the end of a grace period', async () => {
    const sa = await usedKey();
    await server.keyport.clientService.regenerateSecret(sa.clientId, { gracePeriodSeconds: 600 });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(200);
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: sa.clientId })
      .update({ previous_secret_expires_at: 1 });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
  });

  it('does not outlive an expiry', async () => {
    const sa = await usedKey();
    await server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).update({ expires_at: 1 });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
  });

  it('does not outlive a hash replaced by hand, or a switch to private_key_jwt', async () => {
    const sa = await usedKey();
    await server.keyport
      .db('o_auth_clients')
      .where({ client_id: sa.clientId })
      .update({ client_secret_hash: await bcrypt.hash('Another-secret-1', 10) });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);

    const other = await usedKey();
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    await server.keyport.clientService.setPublicKey(other.clientId, pem);
    expect((await token(other.clientId, other.clientSecret)).status).toBe(401);
  });
});
