// The operator CLI's start-up cost: each command against a bare `node -e 0`,
// medians of several runs on an SQLite file (npm run bench prints it; alone:
// `node bench/cli.mjs`). Target (issue 14): at most 4 times a bare start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CLI = 'dist/src/cli/main.js';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timed(args, env, runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, args, { env, stdio: 'ignore' });
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(ms);
}

export function benchCli({ runs = 7 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keyport-bench-cli-'));
  const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, KEYS_DIR: join(dir, 'keys') };
  execFileSync(process.execPath, [CLI, 'migrate'], { env, stdio: 'ignore' });
  const bare = timed(['-e', '0'], env, runs);
  const commands = [
    ['config', ['config']],
    ['teamadd', ['teamadd', '-name', 'Bench', '-plan', 'pro']],
    ['clientlist', ['clientlist', '-team', '1']],
    ['signingkeys list', ['signingkeys', 'list']],
  ];
  const rows = commands.map(([name, args]) => {
    const ms = timed([CLI, ...args], env, runs);
    return { command: name, ms: Math.round(ms), ratio: ms / bare };
  });
  return { bare_ms: Math.round(bare), rows };
}

export function printCli({ bare_ms, rows }) {
  console.log(`\nCLI start-up (median ms; bare \`node -e 0\`: ${bare_ms} ms; target ≤ 4×):`);
  for (const r of rows) console.log(`  ${r.command.padEnd(18)} ${String(r.ms).padStart(5)} ms  ${r.ratio.toFixed(1)}×`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) printCli(benchCli());
