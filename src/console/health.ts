import type Router from '@koa/router';
import type { Metrics } from '../observability/metrics.js';
import type { TeamStore } from '../teams/store.js';
import { html } from '../web/html.js';
import type { Kit, State } from './kit.js';

export interface HealthDeps {
  readonly metrics: Metrics;
  readonly teams: TeamStore;
}

interface Family {
  help: string;
  samples: Array<{ labels: string; value: string }>;
}

/** Prometheus text (what GET /metrics answers) read into families; histogram buckets are left to /metrics. */
export function readMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help: '', samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) family(help[1]!).help = help[2]!;
    const sample = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!sample || sample[1]!.endsWith('_bucket')) continue;
    family(sample[1]!).samples.push({
      labels: sample[2] ?? '',
      value: sample[3]!,
    });
  }
  return families;
}

/** The figures /metrics has, for a person (issue 29 item 5): every keyport family, and teams per plan. */
export function installHealthRoute(router: Router<State>, kit: Kit, deps: HealthDeps): void {
  router.get('/health', kit.requireStaff, kit.allow('look'), async (ctx) => {
    const [{ text }, teams] = await Promise.all([deps.metrics.render(), deps.teams.listTeams()]);
    const perPlan = new Map<string, number>();
    for (const t of teams) perPlan.set(t.plan, (perPlan.get(t.plan) ?? 0) + 1);
    const families = [...readMetrics(text)].filter(([name, f]) => name.startsWith('keyport_') && f.samples.length);
    kit.render(
      ctx,
      200,
      'Health',
      html`<section class="metric" aria-labelledby="plans-title"><h2 id="plans-title">Teams per plan</h2>
<div class="table-wrap"><table class="cards" id="teams-per-plan"><thead><tr><th scope="col">Plan</th><th scope="col">Teams</th></tr></thead><tbody>${[...perPlan].map(([plan, n]) => html`<tr><td class="name">${plan}</td><td data-label="Teams">${n}</td></tr>`)}</tbody></table></div></section>
${families.map(
  (
    [name, f],
    i,
  ) => html`<section class="metric" aria-labelledby="m-${i}"><h2 id="m-${i}"><code>${name}</code></h2><p>${f.help}</p>
<div class="table-wrap"><table class="cards"><thead><tr><th scope="col">Labels</th><th scope="col">Value</th></tr></thead><tbody>${f.samples.slice(0, 50).map((s) => html`<tr><td class="name"><code>${s.labels || '—'}</code></td><td data-label="Value">${s.value}</td></tr>`)}</tbody></table></div></section>`,
)}`,
    );
  });
}
