// nginx for scenario (g): Debian's nginx with a prefix and configuration of
// its own (never the system's), in front of the hello API, with the gateway
// check behind auth_request as docs/gateway.md gives it, or with no check.
// The same configuration the gateway test (test/integration/gateway-nginx.test.ts) runs.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** The http block: docs/gateway.md's nginx configuration for these ports, or the same proxy with no check. */
function httpBlock({ listen, api, check }) {
  if (check === undefined)
    return [
      // Kept-alive connections to the API, as docs/gateway.md's configuration has them.
      `upstream hello_api { server 127.0.0.1:${api}; keepalive 64; }`,
      `server { listen 127.0.0.1:${listen}; location / { proxy_pass http://hello_api; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
    ].join('\n');
  const block = /```nginx\n([\s\S]*?)```/.exec(readFileSync('docs/gateway.md', 'utf8'));
  if (!block) throw new Error('docs/gateway.md has no nginx configuration');
  return block[1]
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${listen}`)
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${api}`)
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${check}`);
}

/** Starts nginx under `dir` (one worker, as the hello API and the check are one process each); resolves once it answers. */
export async function startNginx(dir, ports) {
  const prefix = join(dir, `nginx-${ports.listen}`);
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const temp = (name) => `${name}_temp_path ${join(prefix, name)};`;
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'logs/error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      'access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp),
      httpBlock(ports),
      '}',
    ].join('\n'),
  );
  const child = spawn(
    NGINX,
    ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${ports.listen}`;
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(readFileSync(join(prefix, 'logs/error.log'), 'utf8'));
    if (
      await fetch(`${url}/`).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { url, child };
}
