import type Koa from 'koa';
import { z } from 'zod';
import { InvalidRequest } from '../errors.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** How a route's caller authenticates, as the OpenAPI document names it. */
export type Security = 'bearer' | 'basic' | 'none';

/**
 * One route, declared once (in the spirit of logto's koa-guard): its input is
 * validated from these schemas, its answer is stripped to `response` (a read
 * can never return an undeclared field such as a secret), and the OpenAPI
 * document is generated from the same declarations (web/route-openapi.ts).
 */
export interface RouteDeclaration {
  readonly method: Method;
  /** Koa style, `:name` for a path parameter. */
  readonly path: string;
  readonly summary: string;
  readonly security: Security;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Media types the body may come in; JSON unless said. */
  readonly bodyTypes?: readonly string[];
  /** The success status. */
  readonly status: number;
  /** The success answer; absent for an empty answer (204) or a stream. */
  readonly response?: z.ZodType;
  /** The media type of a success answer that is not JSON (e.g. `text/event-stream`). */
  readonly responseType?: string;
  /** The error statuses this route answers, each with the error body. */
  readonly errors: readonly number[];
}

/** Identity, so a declaration keeps its schemas' exact types. */
export function declareRoute<const D extends RouteDeclaration>(route: D): D {
  return route;
}

type Out<D, K extends string> = D extends { readonly [k in K]: infer S extends z.ZodType } ? z.output<S> : undefined;

export interface RouteInput<D extends RouteDeclaration> {
  readonly params: Out<D, 'params'>;
  readonly query: Out<D, 'query'>;
  readonly body: Out<D, 'body'>;
}

/** Domain views are readonly; the answer need only be readable as the declaration says. */
type Readable<T> = T extends readonly (infer E)[]
  ? readonly Readable<E>[]
  : T extends object
    ? { readonly [K in keyof T]: Readable<T[K]> }
    : T;

/** What a handler returns: type-checked against the declared answer, so a missing field fails the build. */
type Answer<D extends RouteDeclaration> = D extends { readonly response: infer S extends z.ZodType }
  ? Readable<z.input<S>>
  : void;

/** Parses `value`, or throws `invalid_request` naming the first bad field (docs/contract.md). */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.') || 'body';
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
  throw new InvalidRequest(field, message);
}

/**
 * The route's last middleware: validates params, query and body in that
 * order, runs `handle`, and answers its result as declared (a handler that
 * answers otherwise, e.g. a refusal, sets another status itself). An answer that
 * does not match its declaration is keyport's bug: a 500, never a leak.
 */
export function guarded<D extends RouteDeclaration, C extends Koa.ParameterizedContext>(
  route: D,
  handle: (ctx: C, input: RouteInput<D>) => Promise<Answer<D>> | Answer<D>,
): (ctx: C) => Promise<void> {
  return async (ctx) => {
    const ctxWithParams = ctx as C & { params?: unknown };
    const input = {
      params: route.params ? parseInput(route.params, ctxWithParams.params ?? {}) : undefined,
      query: route.query ? parseInput(route.query, ctx.query) : undefined,
      body: route.body ? parseInput(route.body, (ctx.request as { body?: unknown }).body ?? {}) : undefined,
    } as RouteInput<D>;
    // Set first: what the handler records after its work (the audit row) sees the status it answers.
    ctx.status = route.status;
    const answer = await handle(ctx, input);
    if (!route.response || ctx.status !== route.status) return;
    const checked = route.response.safeParse(answer);
    if (!checked.success)
      throw new Error(`${route.method.toUpperCase()} ${route.path}: the answer does not match its declaration`);
    ctx.body = checked.data;
  };
}
