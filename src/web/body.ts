import { bodyParser } from '@koa/bodyparser';
import type Koa from 'koa';
import { InvalidRequest, PayloadTooLarge } from '../errors.js';

type BodyOptions = Parameters<typeof bodyParser>[0];

/**
 * @koa/bodyparser, with its failures turned into the client's mistake they
 * are: a body too large is 413, a body that cannot be read (undecodable
 * gzip, deflate or br, an unknown Content-Encoding, bad JSON, a charset it
 * cannot decode) is 400. The decoder's own error (zlib's "incorrect header
 * check" has no status) would otherwise be a 500. Each surface answers the
 * refusal its own way (JSON or a page).
 */
export function parseBody(options: BodyOptions): Koa.Middleware {
  const parse = bodyParser(options);
  return async function parseRequestBody(ctx, next) {
    let parsed = false;
    try {
      // The parser's own `next` only marks success: errors further down are not the body's.
      await parse(ctx as never, async () => {
        parsed = true;
      });
    } catch (err) {
      throw refusalOf(err);
    }
    // Not parsed: the parser answered already (a request closed before its body came).
    if (parsed) await next();
  };
}

function refusalOf(err: unknown): Error {
  const { status } = err as { status?: number };
  if (status === 413) return new PayloadTooLarge('body: the request body is too large');
  if (status === 415) return new InvalidRequest('body', 'its Content-Encoding or charset is not supported');
  // No status, or a 5xx: the decoder failed (zlib, brotli) or the stream broke while it was read.
  if (status === undefined || status >= 500)
    return new InvalidRequest('body', 'could not be decoded as its Content-Encoding says');
  return new InvalidRequest('body', 'could not be read as its Content-Type says');
}
