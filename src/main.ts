import { createServer, type Server } from 'node:http';
import type { Config } from './config.js';
import { createKeyport, type Keyport } from './keyport.js';

/** config → database (migrated) → provider → listen. */
export async function serve(config: Config): Promise<{ server: Server; keyport: Keyport }> {
  const keyport = await createKeyport(config);
  const server = createServer(keyport.app.callback());
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
