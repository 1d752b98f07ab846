// The numbers of `npm run bench`: one round's summary, the median of rounds, the table.

/** One autocannon result: successful requests per second and latency. */
export const summarize = (res) => ({
  rps: Math.round(res['2xx'] / res.duration),
  p50_ms: res.latency.p50,
  p99_ms: res.latency.p99,
  ok: res['2xx'],
  not_ok: res.non2xx + res.errors + res.timeouts,
  // What the answers that were not 2xx were: by status, and connection errors and timeouts.
  not_ok_by: Object.fromEntries(
    [
      ...Object.entries(res.statusCodeStats ?? {})
        .filter(([code]) => !code.startsWith('2'))
        .map(([code, { count }]) => [code, count]),
      ['errors', res.errors],
      ['timeouts', res.timeouts],
    ].filter(([, n]) => n > 0),
  ),
});

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export function aggregate(rounds) {
  return {
    rps: median(rounds.map((r) => r.rps)),
    p50_ms: median(rounds.map((r) => r.p50_ms)),
    p99_ms: median(rounds.map((r) => r.p99_ms)),
    not_ok: rounds.reduce((n, r) => n + r.not_ok, 0),
    rounds,
  };
}

export function printTable(results, systems) {
  const [a, b] = systems;
  const rows = [['scenario', `${a} req/s`, 'p50', 'p99', `${b} req/s`, 'p50', 'p99', `ratio ${a}/${b}`]];
  for (const { title, result, ratio } of results) {
    const x = result[a];
    const y = result[b];
    rows.push([
      title,
      x.rps,
      `${x.p50_ms} ms`,
      `${x.p99_ms} ms`,
      y.rps,
      `${y.p50_ms} ms`,
      `${y.p99_ms} ms`,
      ratio.toFixed(2),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const [n, row] of rows.entries()) {
    console.log(
      row.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join('  '),
    );
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
