import cluster from 'node:cluster';
import { serve } from '../../main.js';
import { isPrimaryOfMany, runPrimary } from '../../workers.js';
import { configFrom, fail, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const serveCommand = () =>
  keyportCommand('serve', 'start the server (applies migrations first)').action(async (flags: CommonFlags) => {
    try {
      const config = configFrom(flags);
      if (isPrimaryOfMany(config)) {
        process.stderr.write(`keyport starting ${config.workers} workers on port ${config.port}, issuer ${config.issuer}\n`);
        await runPrimary(config);
        return;
      }
      const { server, keyport } = await serve(config);
      if (config.workers === 1) process.stderr.write(`keyport listening on port ${config.port}, issuer ${config.issuer}\n`);
      const stop = () => {
        server.close(() => void keyport.close().then(() => process.exit(0)));
        server.closeIdleConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    } catch (err) {
      fail(err);
      // A worker's IPC channel would keep it alive; the primary sees the exit and stops.
      if (cluster.isWorker) process.exit(1);
    }
  });
