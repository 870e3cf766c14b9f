// The printed table (the JSON file holds the same rows and more).
import { sizeLabel as label } from './admin.mjs';

const fmt = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : Number(value).toFixed(digits);

const pct = (value) => (value === null || value === undefined ? '-' : `${value.toFixed(0)}%`);

const COLUMNS = [
  { head: 'scenario', get: (r) => r.label, align: 'left' },
  { head: 'target', get: (r) => r.target, align: 'left' },
  { head: 'conn', get: (r) => String(r.connections) },
  { head: 'req/s', get: (r) => fmt(r.rps, r.rps < 100 ? 1 : 0) },
  { head: 'p50 ms', get: (r) => fmt(r.p50, r.p50 < 10 ? 1 : 0) },
  { head: 'p99 ms', get: (r) => fmt(r.p99, r.p99 < 10 ? 1 : 0) },
  { head: 'err', get: (r) => String(r.failures) },
  { head: 'CPU %', get: (r) => fmt(r.cpuPercent) },
  { head: 'deps CPU %', get: (r) => fmt(r.dependenciesCpuPercent) },
  { head: 'gen CPU %', get: (r) => fmt(r.generatorCpuPercent) },
  { head: 'other CPU %', get: (r) => `${fmt(r.otherCpuPercent)}${r.noisy ? ' !' : ''}` },
  { head: 'RSS idle', get: (r) => fmt(r.idleRssMiB) },
  { head: 'RSS peak', get: (r) => fmt(r.peakRssMiB) },
  { head: 'req/s vs ref', get: (r) => pct(r.vsReference?.rps) },
  { head: 'p99 vs ref', get: (r) => pct(r.vsReference?.p99) },
  { head: 'ceiling/s', get: (r) => (r.ceilingPerSecond ? fmt(r.ceilingPerSecond, 1) : '-') },
  { head: '% ceiling', get: (r) => pct(r.percentOfCeiling) },
];

export function formatTable(rows) {
  const cells = rows.map((row) => COLUMNS.map((column) => column.get(row)));
  const widths = COLUMNS.map((column, i) => Math.max(column.head.length, ...cells.map((line) => line[i].length)));
  const line = (values) =>
    values.map((value, i) => (COLUMNS[i].align === 'left' ? value.padEnd(widths[i]) : value.padStart(widths[i]))).join('  ');
  const out = [line(COLUMNS.map((c) => c.head)), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previous;
  for (let i = 0; i < rows.length; i++) {
    if (previous !== undefined && rows[i].scenario !== previous) out.push('');
    previous = rows[i].scenario;
    out.push(line(cells[i]));
  }
  return out.join('\n');
}

/**
 * The admin scenarios with one line each and the sizes side by side:
 * req/s, p50 and p99 at every size, then req/s and p99 of the largest size
 * as a % of the smallest's (the rows must be service rows with adminUsers).
 */
export function formatSizeComparison(rows) {
  const sizes = [...new Set(rows.map((r) => r.adminUsers))].sort((a, b) => a - b);
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const heads = ['scenario'];
  for (const size of sizes) heads.push(`req/s @${label(size)}`, `p50 @${label(size)}`, `p99 @${label(size)}`);
  const compare = sizes.length > 1;
  if (compare) heads.push(`req/s ${label(sizes.at(-1))}/${label(sizes[0])}`, `p99 ${label(sizes.at(-1))}/${label(sizes[0])}`);
  const lines = scenarios.map((scenario) => {
    const bySize = new Map(rows.filter((r) => r.scenario === scenario).map((r) => [r.adminUsers, r]));
    const cells = [scenario];
    for (const size of sizes) {
      const r = bySize.get(size);
      cells.push(r ? fmt(r.rps, r.rps < 100 ? 1 : 0) : '-', r ? fmt(r.p50, r.p50 < 10 ? 1 : 0) : '-', r ? fmt(r.p99, r.p99 < 10 ? 1 : 0) : '-');
    }
    if (compare) {
      const small = bySize.get(sizes[0]);
      const large = bySize.get(sizes.at(-1));
      cells.push(
        small && large && small.rps ? pct((large.rps / small.rps) * 100) : '-',
        small && large && small.p99 ? pct((large.p99 / small.p99) * 100) : '-',
      );
    }
    return cells;
  });
  const widths = heads.map((head, i) => Math.max(head.length, ...lines.map((cells) => cells[i].length)));
  const line = (values) => values.map((value, i) => (i === 0 ? value.padEnd(widths[i]) : value.padStart(widths[i]))).join('  ');
  return [line(heads), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(line)].join('\n');
}
