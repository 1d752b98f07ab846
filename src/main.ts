import { createServer, type Server } from 'node:http';
import type { Config } from './config.js';
import { createKeyport, type Keyport } from './keyport.js';

/** config → database (migrated) → provider → listen. */
export async function serve(config: Config): Promise<{ server: Server; keyport: Keyport }> {
  const keyport = await createKeyport(config);
  const server = createServer(keyport.handle);
  // Longer than the load balancer's idle timeout (README, "Kept-alive connections"); Node
  // wants the headers timeout above it, or a request arriving as the connection idles is cut.
  server.keepAliveTimeout = config.keepAliveTimeoutSeconds * 1000;
  server.headersTimeout = Math.max(60_000, server.keepAliveTimeout + 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.listenAddress, resolve);
    });
  } catch (err) {
    await keyport.close();
    throw err;
  }
  return { server, keyport };
}

/**
 * Graceful stop (SIGTERM): answer /readyz 503 and keep serving for
 * `delaySeconds` (the load balancer's time to notice), then stop accepting connections, let requests in
 * flight finish (their answers close the connection, and idle keep-alive
 * connections are closed), then flush usage and close the database.
 * Connections still busy at the deadline are cut. The whole stop ends by the
 * deadline even when the database stops answering: then what could not be
 * written is logged with its count. Resolves true when everything was done.
 */
export async function shutdown(
  server: Server,
  keyport: Keyport,
  deadlineSeconds: number,
  delaySeconds = 0,
): Promise<boolean> {
  // First out of the load balancer: /readyz says 503 while keyport still serves, for the delay.
  keyport.stopping = true;
  if (delaySeconds > 0) await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
  const deadlineAt = Date.now() + deadlineSeconds * 1000;
  keyport.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // A connection that finished its answer between two checks is idle now.
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => {
    keyport.logger.warn(
      { deadline_seconds: deadlineSeconds },
      'shutdown deadline reached; closing the connections still open',
    );
    server.closeAllConnections();
  }, deadlineSeconds * 1000);
  await closed;
  clearInterval(idle);
  clearTimeout(deadline);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>(
    (resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadlineAt - Date.now()))),
  );
  const done = await Promise.race([keyport.close().then(() => true as const), timedOut]);
  clearTimeout(timer);
  if (!done) {
    keyport.logger.error(
      { deadline_seconds: deadlineSeconds, unwritten_usage: keyport.usage.unwritten },
      'shutdown deadline reached before the database answered; key usage not written',
    );
    await new Promise<void>((resolve) => keyport.logger.flush(() => resolve()));
  }
  return done;
}
