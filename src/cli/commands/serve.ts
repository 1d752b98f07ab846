import cluster from 'node:cluster';
import { configFrom, fail, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';
import { shouldWatchParent, watchParent } from '../../parent-watch.js';

const METRICS_CLOSED =
  'listening beyond loopback without metrics_token (KEYPORT_METRICS_TOKEN): GET /metrics answers 404';

export const serveCommand = () =>
  keyportCommand('serve', 'start the server (applies migrations first)').action(async (flags: CommonFlags) => {
    try {
      const config = configFrom(flags);
      // The server's modules (oidc-provider, Koa) load only for `serve`.
      const [{ serve, shutdown }, { isPrimaryOfMany, runPrimary }] = await Promise.all([
        import('../../main.js'),
        import('../../workers.js'),
      ]);
      if (isPrimaryOfMany(config)) {
        process.stderr.write(
          `keyport starting ${config.workers} workers on ${config.listenAddress} port ${config.port}, issuer ${config.issuer}\n`,
        );
        if (!config.listensOnLoopbackOnly && !config.metricsToken) process.stderr.write(`keyport: ${METRICS_CLOSED}\n`);
        await runPrimary(config);
        return;
      }
      const { server, keyport } = await serve(config);
      keyport.logger.info(
        { address: config.listenAddress, port: config.port, issuer: config.issuer },
        'keyport listening',
      );
      if (!config.listensOnLoopbackOnly && !config.metricsToken && !cluster.isWorker)
        keyport.logger.warn(METRICS_CLOSED);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        keyport.logger.info('stopping: draining');
        shutdown(server, keyport, config.shutdownTimeoutSeconds, config.shutdownDelaySeconds).then(
          (clean) => process.exit(clean ? 0 : 1),
          (err: Error) => {
            process.stderr.write(`keyport: shutdown failed: ${err.message}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // A worker stops with its primary; a single process with npm or npx, when started through them.
      if (cluster.isWorker) process.once('disconnect', stop);
      else if (shouldWatchParent(config.stopWithParent)) watchParent(stop);
    } catch (err) {
      fail(err, flags.json === true);
      // A worker's IPC channel would keep it alive; the primary sees the exit and stops.
      if (cluster.isWorker) process.exit(1);
    }
  });
