import { createHash, timingSafeEqual, verify } from 'node:crypto';
import Router, { type RouterContext } from '@koa/router';
import type Koa from 'koa';
import type { LeakReports } from '../clients/leaks.js';
import { InvalidRequest, InvalidSignature, InvalidToken, KeyportError, PayloadTooLarge } from '../errors.js';
import { parseBody } from '../web/body.js';
import { guarded } from '../web/route.js';
import type { GithubKeys } from './github-keys.js';
import { LEAK_ROUTES as R, MAX_REPORT_BYTES } from './leak-routes.js';

type Ctx = RouterContext;

/** GitHub's key identifiers are the hex SHA-256 of the key; an ECDSA P-256 DER signature is at most 72 bytes. */
const KEY_ID = /^[0-9a-f]{64}$/i;
const SIGNATURE = /^[A-Za-z0-9+/]{40,200}={0,2}$/;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Leaked keys (issue 28 item 4): `POST /secret-scanning/github`, the
 * receiving side of GitHub's secret scanning partner program, and
 * `POST /keys/leaked`, the same for the operator's other scanners. Nothing
 * is read from the database, and nothing written, before a report is signed
 * (or the operator token given): an anonymous request costs no durable write.
 */
export function createLeakRouter({
  leaks,
  githubKeys,
  adminToken,
}: {
  leaks: LeakReports;
  githubKeys: GithubKeys;
  adminToken: string | undefined;
}): Router {
  const router = new Router();
  const operatorDigest = adminToken ? digest(adminToken) : undefined;

  async function answerRefusals(ctx: Ctx, next: Koa.Next) {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof KeyportError)) throw err;
      ctx.status = err.status;
      ctx.set('Cache-Control', 'no-store');
      ctx.set(err.headers());
      if (err.status === 401 && err instanceof InvalidToken) ctx.set('WWW-Authenticate', 'Bearer realm="keyport"');
      ctx.body = err.body();
    }
  }

  /** The raw bytes as sent: the signature is over them, never over JSON parsed and written again. */
  async function rawBody(ctx: Ctx): Promise<Buffer> {
    const encoding = ctx.get('content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity')
      throw new InvalidRequest('body', 'a Content-Encoding is not supported here: send the JSON as it was signed');
    if (Number(ctx.get('content-length') || 0) > MAX_REPORT_BYTES)
      throw new PayloadTooLarge(`body: at most ${MAX_REPORT_BYTES} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REPORT_BYTES) throw new PayloadTooLarge(`body: at most ${MAX_REPORT_BYTES} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /**
   * GitHub's signature: ECDSA P-256 with SHA-256 (DER, base64) over the raw
   * body, by the key `Github-Public-Key-Identifier` names among GitHub's
   * published keys. Checked before the body is even parsed.
   */
  async function requireGithubSignature(ctx: Ctx, next: Koa.Next) {
    const keyId = ctx.get('github-public-key-identifier');
    const signature = ctx.get('github-public-key-signature');
    if (!keyId || !signature)
      throw new InvalidSignature(
        'a report must be signed: Github-Public-Key-Identifier and Github-Public-Key-Signature are required',
      );
    if (!KEY_ID.test(keyId)) throw new InvalidSignature('Github-Public-Key-Identifier is not a key identifier');
    if (!SIGNATURE.test(signature))
      throw new InvalidSignature('Github-Public-Key-Signature is not a base64 ECDSA signature');
    const body = await rawBody(ctx);
    const key = await githubKeys.find(keyId.toLowerCase());
    if (!key)
      throw new InvalidSignature("Github-Public-Key-Identifier names none of GitHub's published secret-scanning keys");
    const valid = verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    if (!valid) throw new InvalidSignature('the signature does not verify over the body with the key it names');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new InvalidRequest('body', 'is not JSON');
    }
    (ctx.request as { body?: unknown }).body = parsed;
    ctx.state.bodyDigest = createHash('sha256').update(body).digest('hex');
    await next();
  }

  /** The operator token, compared by digest in constant time; no counter is written for a wrong one. */
  async function requireOperator(ctx: Ctx, next: Koa.Next) {
    const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(ctx.get('authorization'));
    if (!match) throw new InvalidToken('an Authorization: Bearer operator token is required');
    if (!operatorDigest || !timingSafeEqual(digest(match[1]!), operatorDigest))
      throw new InvalidToken('only the operator token may report leaked keys here');
    await next();
  }

  const parseJson = parseBody({ enableTypes: ['json'], jsonLimit: MAX_REPORT_BYTES, encoding: 'utf-8' });

  router.post(
    R.github.path,
    answerRefusals,
    requireGithubSignature,
    guarded(R.github, async (ctx: Ctx, { body }) => {
      ctx.set('Cache-Control', 'no-store');
      return leaks.report(body, { scanner: 'github', bodyDigest: ctx.state.bodyDigest as string, ip: ctx.ip });
    }),
  );

  router.post(
    R.operator.path,
    answerRefusals,
    requireOperator,
    parseJson as never,
    guarded(R.operator, async (ctx: Ctx, { body }) => {
      ctx.set('Cache-Control', 'no-store');
      const findings = Array.isArray(body)
        ? body
        : body.keys.map((token) => ({ token, type: body.type, url: body.url, source: body.source }));
      return leaks.report(findings, { scanner: 'operator', ip: ctx.ip });
    }),
  );

  return router;
}
