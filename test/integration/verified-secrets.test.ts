import bcrypt from 'bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { basic, postForm, seedServiceAccount, startServer, type TestServer } from '../helpers/server.js';

describe.each(DATABASES)('remembered secret verifications on $name', (database) => {
  let server: TestServer;
  let drop: () => Promise<void>;

  const token = (id: string, secret: string) => postForm(`${server.url}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic(id, secret) });
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
    await server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).update({ previous_secret_expires_at: 1 });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
  });

  it('does not outlive an expiry', async () => {
    const sa = await usedKey();
    await server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).update({ expires_at: 1 });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);
  });

  it('does not outlive a hash replaced by hand, or a switch to private_key_jwt', async () => {
    const sa = await usedKey();
    await server.keyport.db('o_auth_clients').where({ client_id: sa.clientId }).update({ client_secret_hash: await bcrypt.hash('Another-secret-1', 10) });
    expect((await token(sa.clientId, sa.clientSecret)).status).toBe(401);

    const other = await usedKey();
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await server.keyport.clientService.setPublicKey(other.clientId, pem);
    expect((await token(other.clientId, other.clientSecret)).status).toBe(401);
  });
});
