// Scenario (d)'s attacker: a second source address (FLOOD_LOCAL_ADDRESS,
// 127.0.0.2 by default) sending wrong client secrets to FLOOD_URL as fast as
// FLOOD_CONCURRENCY keep-alive connections allow, cycling through the client
// ids in FLOOD_CLIENT_IDS (comma-separated). On SIGTERM it prints a JSON line
// of how many answers of each status it got, and exits.
import { Agent, request } from 'node:http';

const url = new URL(process.env.FLOOD_URL);
const localAddress = process.env.FLOOD_LOCAL_ADDRESS ?? '127.0.0.2';
const concurrency = Number(process.env.FLOOD_CONCURRENCY ?? 32);
const clientIds = process.env.FLOOD_CLIENT_IDS.split(',');
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const body = 'grant_type=client_credentials';
const statuses = {};
let sent = 0;
let stopping = false;

function once() {
  const clientId = clientIds[sent++ % clientIds.length];
  const authorization = 'Basic ' + Buffer.from(`${clientId}:wrong-secret-${sent}`).toString('base64');
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        localAddress,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
      },
      (res) => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', () => {
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end(body);
  });
}

async function loop() {
  while (!stopping) await once();
}

process.once('SIGTERM', () => {
  stopping = true;
  process.stdout.write(JSON.stringify(statuses) + '\n');
  process.exit(0);
});
for (let i = 0; i < concurrency; i++) void loop();
process.stdout.write('ready\n');
