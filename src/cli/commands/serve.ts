import { serve } from '../../main.js';
import { configFrom, fail, type CommonFlags } from '../run.js';
import { keyportCommand } from './common.js';

export const serveCommand = () =>
  keyportCommand('serve', 'start the server (applies migrations first)').action(async (flags: CommonFlags) => {
    try {
      const config = configFrom(flags);
      const { server, keyport } = await serve(config);
      process.stderr.write(`keyport listening on port ${config.port}, issuer ${config.issuer}\n`);
      const stop = () => {
        server.close(() => void keyport.close().then(() => process.exit(0)));
        server.closeIdleConnections();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    } catch (err) {
      fail(err);
    }
  });
