// Sums the self time of every .cpuprofile in a folder (node --cpu-prof) by
// where the code lives: keyport's own files by name, dependencies by
// package, node's internals and native work (bcrypt, crypto, GC) apart.
// Usage: node bench/profile-summary.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

function bucketOf({ functionName, url }) {
  if (!url) return functionName ? `(${functionName})` : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url;
  const own = /\/dist\/(src\/.+)$/.exec(url);
  if (own) return own[1];
  return url;
}

export function summarizeProfiles(dir, top = 20) {
  const totals = new Map();
  let all = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const deltas = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = byId.get(profile.samples[i]);
      const ms = (deltas[i] ?? 0) / 1000;
      if (node.callFrame.functionName === '(idle)') continue;
      const key = bucketOf(node.callFrame);
      totals.set(key, (totals.get(key) ?? 0) + ms);
      all += ms;
    }
  }
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const list = rows.map(([where, ms]) => ({ where, ms: Math.round(ms), share: Math.round((1000 * ms) / all) / 10 }));
  const text = list
    .map((r) => `  ${String(r.share).padStart(5)} %  ${String(r.ms).padStart(7)} ms  ${r.where}`)
    .join('\n');
  return { top: list, busy_ms: Math.round(all), text };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { text, busy_ms } = summarizeProfiles(process.argv[2]);
  console.log(`busy ${busy_ms} ms\n${text}`);
}
