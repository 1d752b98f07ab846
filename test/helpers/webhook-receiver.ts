import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  readonly id: string;
  readonly body: { type: string; timestamp: string; data: Record<string, unknown> };
  readonly raw: string;
}

/**
 * A real webhook receiver: every request is verified with the standardwebhooks
 * library against `state.secret` (set once the endpoint is registered); it
 * answers `state.status` and wakes whoever waits for what it received.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = [];
  const refused: string[] = [];
  const waiters: Array<() => void> = [];
  const state = { secret: '', status: 204 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        new Webhook(state.secret).verify(raw, req.headers as Record<string, string>);
      } catch (err) {
        refused.push((err as Error).message);
        res.writeHead(400).end();
        return;
      }
      if (state.status < 300) received.push({ id: String(req.headers['webhook-id']), body: JSON.parse(raw), raw });
      res.writeHead(state.status).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    refused,
    state,
    async until(test: (received: ReceivedWebhook[]) => boolean) {
      while (!test(received)) await new Promise<void>((resolve) => waiters.push(resolve));
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
