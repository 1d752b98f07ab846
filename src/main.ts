import { createServer, type Server } from 'node:http';
import type { Config } from './config.js';
import { createKeyport, type Keyport } from './keyport.js';

/** config → database (migrated) → provider → listen. */
export async function serve(config: Config): Promise<{ server: Server; keyport: Keyport }> {
  const keyport = await createKeyport(config);
  const server = createServer(keyport.handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, resolve);
    });
  } catch (err) {
    await keyport.close();
    throw err;
  }
  return { server, keyport };
}

/**
 * Graceful stop (SIGTERM): stop accepting connections, let requests in
 * flight finish (their answers close the connection, and idle keep-alive
 * connections are closed), then flush usage and close the database.
 * Connections still busy at the deadline are cut. Resolves when all is done.
 */
export async function shutdown(server: Server, keyport: Keyport, deadlineSeconds: number): Promise<void> {
  keyport.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A connection that finished its answer between two checks is idle now.
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => {
    keyport.logger.warn({ deadline_seconds: deadlineSeconds }, 'shutdown deadline reached; closing the connections still open');
    server.closeAllConnections();
  }, deadlineSeconds * 1000);
  await closed;
  clearInterval(idle);
  clearTimeout(deadline);
  await keyport.close();
}
