import type { RequestSpec } from './arbitraries.js';
import type { Answer, Prepared } from './send.js';

/** What the fuzz saw: answers by operation, and every distinct failure class with an example. */

export interface FailureExample {
  request: string;
  answer: string;
  labels: string[];
}

export interface FailureClass {
  operation: string;
  facet: string;
  kind: string;
  count: number;
  examples: FailureExample[];
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

export function describeRequest(prepared: Prepared): string {
  const headers = Object.entries(prepared.headers)
    .map(([name, value]) => `${name}: ${clip(value, 60)}`)
    .join('; ');
  const payload = prepared.payload ? ` body ${JSON.stringify(clip(prepared.payload.toString('utf8'), 160))}` : '';
  return `${prepared.method} ${clip(prepared.path, 120)} [${headers}]${payload}`;
}

export const describeAnswer = (answer: Answer) =>
  answer.error ? `no answer: ${answer.error}` : `${answer.status} ${String(answer.headers['content-type'] ?? '-')} ${JSON.stringify(clip(answer.text, 200))}`;

/** A problem reduced to its class: quoted text and numbers blurred, so one cause is one class. */
export const kindOf = (problem: string) =>
  problem
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/…"[^…]*"…/g, '…')
    .replace(/\d+/g, 'N')
    .slice(0, 200);

export class FuzzReport {
  readonly failures = new Map<string, FailureClass>();
  readonly statuses = new Map<string, Map<string, number>>();
  cases = 0;

  answered(operation: string, answer: Answer, code: unknown): void {
    this.cases += 1;
    const byStatus = this.statuses.get(operation) ?? new Map<string, number>();
    const key = answer.error ? 'none' : answer.status >= 400 ? `${answer.status} ${String(code)}` : String(answer.status);
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    this.statuses.set(operation, byStatus);
  }

  failed(operation: string, spec: RequestSpec, prepared: Prepared, answer: Answer, problems: string[]): void {
    for (const problem of problems) {
      const kind = kindOf(problem);
      const key = `${operation}\u0000${kind}`;
      const entry = this.failures.get(key) ?? { operation, facet: spec.facet, kind, count: 0, examples: [] };
      entry.count += 1;
      const labels = spec.labels.filter((label) => !label.startsWith('credential ') || spec.facet === 'auth');
      if (entry.examples.length < 3 && !entry.examples.some((e) => e.labels.join() === labels.join())) {
        entry.examples.push({ request: describeRequest(prepared), answer: `${describeAnswer(answer)} — ${problem.slice(0, 300)}`, labels });
      }
      this.failures.set(key, entry);
    }
  }

  summary(): string {
    const lines = [`${this.cases} requests`];
    for (const [operation, byStatus] of this.statuses) {
      const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
      const parts = [...byStatus.entries()].sort((a, b) => b[1] - a[1]).map(([status, n]) => `${status}×${n}`);
      lines.push(`  ${operation}: ${total} — ${parts.join(', ')}`);
    }
    return lines.join('\n');
  }

  failureList(): string {
    return [...this.failures.values()]
      .map(
        (f) =>
          `- ${f.operation} [${f.facet}] ${f.kind} (${f.count}×)\n` +
          f.examples.map((e) => `    input: ${e.labels.join(' | ')}\n      request: ${e.request}\n      answer: ${e.answer}`).join('\n'),
      )
      .join('\n');
  }
}
