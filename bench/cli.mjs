// The operator CLI's start-up cost: each command against a bare `node -e 0`,
// medians of several runs on an SQLite file (npm run bench prints it; alone:
// `node bench/cli.mjs`). Target (issue 14): at most 4 times a bare start.
// benchStartup (`npm run bench -- --only startup`): `keyport --help` run with
// node and through `npx --no-install`, as the README writes it, against `node -e ''`.
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

function timed(args, env, runs, command = process.execPath) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(command, args, { env, stdio: 'ignore' });
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

/** `--help` start-up, median and range of `runs` runs each, after one untimed run to warm the disk cache. */
export function benchStartup({ runs = 11 } = {}) {
  const env = { ...process.env, npm_config_offline: 'true' };
  const ways = [
    ["node -e ''", process.execPath, ['-e', '']],
    ['node dist/src/cli/main.js --help', process.execPath, [CLI, '--help']],
    ['npx --no-install keyport --help', 'npx', ['--no-install', 'keyport', '--help']],
  ];
  const rows = ways.map(([name, command, args]) => {
    execFileSync(command, args, { env, stdio: 'ignore' });
    const all = [];
    for (let i = 0; i < runs; i++) all.push(timed(args, env, 1, command));
    all.sort((a, b) => a - b);
    return { command: name, ms: Math.round(median(all)), min_ms: Math.round(all[0]), max_ms: Math.round(all.at(-1)) };
  });
  const bare = rows[0].ms;
  return { runs, rows: rows.map((r) => ({ ...r, ratio: r.ms / bare })) };
}

export function printStartup({ runs, rows }) {
  console.log(`\nCLI start-up, --help (median of ${runs} runs, range in brackets):`);
  for (const r of rows)
    console.log(
      `  ${r.command.padEnd(34)} ${String(r.ms).padStart(5)} ms [${r.min_ms}–${r.max_ms}]  ${r.ratio.toFixed(1)}×`,
    );
}

export function printCli({ bare_ms, rows }) {
  console.log(`\nCLI start-up (median ms; bare \`node -e 0\`: ${bare_ms} ms; target ≤ 4×):`);
  for (const r of rows) console.log(`  ${r.command.padEnd(18)} ${String(r.ms).padStart(5)} ms  ${r.ratio.toFixed(1)}×`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  printCli(benchCli());
  printStartup(benchStartup());
}
