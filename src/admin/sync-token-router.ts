import type Router from '@koa/router';
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type { SyncTokens } from '../teams/sync-tokens.js';
import { guarded } from '../web/route.js';
import type { AdminState } from './state.js';
import { SYNC_TOKEN_ROUTES as R } from './sync-token-routes.js';

type Ctx = RouterContext<AdminState>;

/** The operator's sync tokens (sync-token-routes.ts); made and revoked are audited product-wide by the service. */
export function installSyncTokenRoutes(
  router: Router<AdminState>,
  {
    operator,
    requireJson,
    syncTokens,
  }: {
    operator: readonly RouterMiddleware<AdminState>[];
    requireJson: RouterMiddleware<AdminState>;
    syncTokens: SyncTokens;
  },
): void {
  const at = (route: { path: string }) => route.path.slice('/api'.length);

  router.post(
    at(R.create),
    ...operator,
    requireJson,
    guarded(R.create, async (ctx: Ctx, { body }) => {
      const { token, view } = await syncTokens.issue(body.name, ctx.state.caller!);
      ctx.set('Cache-Control', 'no-store');
      return { ...view, token };
    }),
  );

  router.get(
    at(R.list),
    ...operator,
    guarded(R.list, async () => {
      const data = await syncTokens.list();
      return { total_count: data.length, data };
    }),
  );

  router.delete(
    at(R.revoke),
    ...operator,
    guarded(R.revoke, async (ctx: Ctx, { params }) => {
      await syncTokens.revoke(params.id, ctx.state.caller!);
    }),
  );
}
