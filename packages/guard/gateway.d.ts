import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyportGuard } from './index.js';

export interface GatewayRoute {
  readonly method: string;
  readonly path: string;
  readonly scopes: readonly string[];
  /** Permissions (`resource:action`) the matching calls need, besides the scopes. */
  readonly permissions: readonly string[];
}

/** A `--routes` table, checked: throws a TypeError naming the entry that is wrong. */
export function parseRoutes(table: unknown): GatewayRoute[];

/** The request handler of `keyport-guard serve`: each request is a check of the proxied one. */
export function createGatewayHandler(options: {
  guard: KeyportGuard;
  routes?: readonly GatewayRoute[];
}): (req: IncomingMessage, res: ServerResponse) => void;
