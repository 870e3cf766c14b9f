import { ErrorCode } from '../../../src/core/errors/error-codes.js';
import { wellFormed } from './arbitraries.js';
import type { Answer } from './send.js';

/**
 * The conventions every answer must keep (README, contract): never a 5xx;
 * every error problem+json with a known stable code and a correlation id; no
 * internals (stack traces, SQL, driver or framework errors, password hashes,
 * private keys) in any body; a 2xx only for a request the document allows.
 */

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Text of the suite's private signing key (a line of its base64 body): must never appear anywhere. */
const privateKeyLines = () =>
  (process.env.TEST_JWT_PRIVATE_KEY ?? '')
    .split(/\\n|\n/)
    .filter((line) => line.length >= 40 && !line.startsWith('-----'))
    .slice(1, 4);

const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat (?:async )?[\w$.<>[\] ]*\(?(?:\/|node:|file:)[^)\n]*:\d+:\d+/],
  ['stack frame', /\n\s+at \S/],
  ['source path', /(?:\/work\/|\/src\/|\/dist\/|node_modules\/)[\w./-]*\.(?:[cm]?js|ts)\b/],
  ['SQL text', /\b(?:SELECT\s[\s\S]{0,200}?\sFROM\s|INSERT\s+INTO\s|UPDATE\s+"?\w+"?\s+SET\s|DELETE\s+FROM\s)/],
  [
    'PostgreSQL error',
    /syntax error at or near|violates (?:unique|foreign key|check|not-null) constraint|duplicate key value|invalid input syntax for type|invalid byte sequence|out of range for type|relation "[^"]*" does not exist|column "[^"]*" (?:of|does)|SQLSTATE|unterminated quoted|\b(?:22P05|22021)\b/i,
  ],
  ['ORM or driver error', /QueryFailedError|EntityNotFound|TypeORMError|\btypeorm\b|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection terminated|ReplyError|\bioredis\b|\bamqplib\b|pg-protocol|\bpg-pool\b/i],
  ['JavaScript error', /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|EvalError)\b|Maximum call stack|Cannot read propert|is not a function|is not defined|Unexpected token|in JSON at position/],
  ['framework error', /\bFST_[A-Z_]+|FastifyError|class-validator|class-transformer|ValidationPipe|HttpException/],
  ['password hash', /password_?hash|\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/i],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----|PRIVATE KEY/],
];

/** Keys a 2xx body must never have: a password or a hash of anything. */
const SECRET_KEYS = /password|hash|secret/i;

export class EchoSet {
  private readonly strings = new Set<string>();

  add(values: string[]): void {
    for (const value of values) {
      if (value.length > 6_000) continue;
      const s = wellFormed(value);
      this.strings.add(s).add(s.trim()).add(s.toLowerCase()).add(s.trim().toLowerCase());
    }
  }

  /** A string the service may give back because a client sent it (a name, an email, an unknown field's name in a field path). */
  has(value: string): boolean {
    const s = wellFormed(value);
    if (this.strings.has(s)) return true;
    const segments = s.split('.');
    return segments.length > 1 && segments.every((segment) => /^\d+$/.test(segment) || this.strings.has(segment) || this.strings.has(segment.replace(/\\u0000/g, '\u0000')));
  }
}

function leaksIn(text: string): string[] {
  const found: string[] = [];
  for (const [name, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) found.push(`leak (${name}): …${JSON.stringify(text.slice(Math.max(0, match.index - 30), match.index + 60))}…`);
  }
  for (const line of privateKeyLines()) if (text.includes(line)) found.push('leak (private key material)');
  return found;
}

/** Leaks in a JSON body: every string and key except those the client sent itself. */
function leaksInJson(value: unknown, echoes: EchoSet, checkKeys: boolean): string[] {
  const found: string[] = [];
  const pending = [value];
  while (pending.length) {
    const current = pending.pop();
    if (typeof current === 'string') {
      if (!echoes.has(current)) found.push(...leaksIn(current));
    } else if (Array.isArray(current)) pending.push(...current);
    else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (!echoes.has(key)) {
          found.push(...leaksIn(key));
          if (checkKeys && SECRET_KEYS.test(key)) found.push(`secret-looking field ${JSON.stringify(key)} in a 2xx body`);
        }
        pending.push(item);
      }
    }
  }
  return [...new Set(found)];
}

const header = (answer: Answer, name: string) => {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
};

/** What is wrong with an answer: empty when it keeps every convention. */
export function problemsWith(answer: Answer, violation: string | undefined, echoes: EchoSet): string[] {
  if (answer.status === -1) return [];
  if (answer.error) return [`no HTTP answer (${answer.error})`];
  const problems: string[] = [];
  const { status } = answer;
  const contentType = header(answer, 'content-type');
  let body: unknown;
  let isJson = false;
  if (/json/i.test(contentType) || /^\s*[{[]/.test(answer.text)) {
    try {
      body = JSON.parse(answer.text);
      isJson = true;
    } catch {
      /* judged below */
    }
  }
  if (status >= 500) problems.push(`5xx: ${status} ${isJson ? (body as { code?: string }).code : contentType}`);
  if (status >= 400) {
    const problem = (isJson ? body : undefined) as Record<string, unknown> | undefined;
    if (!/^application\/problem\+json/i.test(contentType) || !problem) {
      problems.push(`not problem+json: ${status} ${contentType || 'no content type'} ${JSON.stringify(answer.text.slice(0, 80))}`);
    } else {
      if (typeof problem.code !== 'string' || !KNOWN_CODES.has(problem.code)) problems.push(`unknown code: ${status} ${JSON.stringify(problem.code)}`);
      if (problem.status !== status) problems.push(`body status ${JSON.stringify(problem.status)} on a ${status}`);
      for (const field of ['type', 'title', 'detail', 'correlationId']) {
        if (typeof problem[field] !== 'string') problems.push(`problem without ${field}: ${status} ${String(problem.code)}`);
      }
      const echoed = header(answer, 'x-correlation-id');
      if (!echoed) problems.push(`no X-Correlation-ID header: ${status} ${String(problem.code)}`);
      else if (problem.correlationId !== echoed) problems.push(`correlationId differs from X-Correlation-ID: ${status} ${String(problem.code)}`);
    }
  }
  if (status >= 200 && status < 300 && violation) problems.push(`2xx for a request the document does not allow: ${status} (${violation})`);
  problems.push(...(isJson ? leaksInJson(body, echoes, status < 300) : leaksIn(answer.text)));
  for (const [name, value] of Object.entries(answer.headers)) {
    const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
    if (name !== 'content-type' && !echoes.has(text)) problems.push(...leaksIn(text).map((leak) => `header ${name}: ${leak}`));
  }
  return problems;
}
