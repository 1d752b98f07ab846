import { html, type SafeHtml } from '../web/html.js';

const OUTCOMES = [
  ['valid', 'valid', '#2f6fed'],
  ['rate_limited', 'rate limited', '#c77700'],
  ['usage_exceeded', 'usage exceeded', '#8e44ad'],
  ['insufficient_scope', 'insufficient scope', '#b3261e'],
  ['forbidden_ip', 'refused by address', '#5d4037'],
] as const;

type Bucket = { t: string } & Record<(typeof OUTCOMES)[number][0], number>;

/**
 * Calls per hour over the last 7 days, stacked by outcome: an SVG drawn on
 * the server (no script, no chart library), with a text summary for screen
 * readers and a legend.
 */
export function usageChart(buckets: readonly Bucket[], now = Date.now()): SafeHtml {
  const hours = 7 * 24;
  const end = Math.floor(now / 3_600_000);
  const byHour = new Map(buckets.map((b) => [Math.floor(Date.parse(b.t) / 3_600_000), b]));
  const width = 672;
  const height = 160;
  const barWidth = width / hours;
  const totals = Array.from({ length: hours }, (_, i) => {
    const b = byHour.get(end - hours + 1 + i);
    return OUTCOMES.map(([key]) => (b ? b[key] : 0));
  });
  const max = Math.max(1, ...totals.map((t) => t.reduce((a, b) => a + b, 0)));
  const sums = OUTCOMES.map((_, j) => totals.reduce((a, t) => a + t[j]!, 0));
  const bars: SafeHtml[] = [];
  totals.forEach((counts, i) => {
    let y = height;
    counts.forEach((n, j) => {
      if (!n) return;
      const h = (n / max) * (height - 10);
      y -= h;
      bars.push(
        html`<rect x="${(i * barWidth).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${OUTCOMES[j]![2]}"></rect>`,
      );
    });
  });
  const summary = `${sums.reduce((a, b) => a + b, 0)} calls in 7 days: ${OUTCOMES.map(([, label], j) => `${sums[j]} ${label}`).join(', ')}; at most ${max} in one hour.`;
  return html`<figure class="chart">
<svg id="usage-chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${summary}">
<line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" stroke="#b8bec7"></line>${bars}
</svg>
<figcaption>${summary}</figcaption>
<ul class="legend">${OUTCOMES.map(([key, label]) => html`<li><span class="swatch ${key}" aria-hidden="true"></span>${label}</li>`)}</ul>
</figure>`;
}
