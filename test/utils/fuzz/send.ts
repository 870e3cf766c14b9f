import { request as httpRequest } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

import { type BodySpec, encodeSegment, type RequestSpec } from './arbitraries.js';
import { JSON_MEDIA_TYPE, type SentRequest } from './conformance.js';
import type { Operation } from './openapi.js';
import { credentialHeaders, type Principals, RelativeDate, resolveSym, Sym } from './principals.js';

/**
 * Turns a generated RequestSpec into bytes on the wire. Requests go over a
 * real loopback socket to the app in this process (as supertest does), not
 * through light-my-request: its URL parsing would normalize the very paths
 * being fuzzed (`..`, `%2e%2e`), and Node's HTTP parser (request-line and
 * header limits) would never see them.
 */

export interface Prepared {
  method: string;
  path: string;
  headers: Record<string, string>;
  payload?: Buffer;
  /** What the service will see, for the document's verdict. */
  sent: SentRequest;
  /** Every string the request carries (values and keys): the service may rightly echo these back. */
  strings: string[];
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Set when no HTTP answer came back at all. */
  error?: string;
}

/** Replaces symbols (seeded ids, credentials, relative dates) by their values for this run. */
export function resolve(value: unknown, p: Principals, now: number): unknown {
  if (value instanceof Sym) return resolveSym(value, p);
  if (value instanceof RelativeDate) return new Date(now + value.seconds * 1000).toISOString();
  if (Array.isArray(value)) return value.map((item) => resolve(item, p, now));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(out, key, { value: resolve(item, p, now), enumerable: true, configurable: true, writable: true });
    return out;
  }
  return value;
}

/** Strings and keys of a value, walked with a stack of its own (values can be thousands of levels deep). */
export function stringsOf(value: unknown, into: string[] = []): string[] {
  const pending = [value];
  while (pending.length) {
    const current = pending.pop();
    if (typeof current === 'string') into.push(current);
    else if (Array.isArray(current)) pending.push(...current);
    else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        into.push(key);
        pending.push(item);
      }
    }
  }
  return into;
}

const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value) ?? String(value));

function formEncode(value: unknown): string {
  if (value === null || typeof value !== 'object') return `value=${encodeSegment(text(value))}`;
  return Object.entries(value)
    .flatMap(([key, item]) => (Array.isArray(item) ? item.map((v) => [key, v]) : [[key, item]]))
    .map(([key, item]) => `${encodeSegment(String(key))}=${encodeSegment(text(item))}`)
    .join('&');
}

function multipartEncode(value: unknown, boundary: string): string {
  const entries = value !== null && typeof value === 'object' ? Object.entries(value) : [['value', value]];
  const parts = entries.map(([key, item]) => `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n${text(item)}\r\n`);
  return `${parts.join('')}--${boundary}--\r\n`;
}

function encodeBody(body: BodySpec, p: Principals, now: number): { payload?: Buffer; contentType?: string; value?: unknown; rawText?: string } {
  if (body.kind === 'absent') return {};
  if (body.kind === 'raw') {
    return { payload: Buffer.from(body.payload, body.latin1 ? 'latin1' : 'utf8'), contentType: body.contentType, rawText: body.payload };
  }
  const value = resolve(body.value, p, now);
  const textBody =
    body.encoding === 'json' ? (JSON.stringify(value) ?? 'null') : body.encoding === 'form' ? formEncode(value) : multipartEncode(value, 'fuzzBoundary');
  return { payload: Buffer.from(textBody), contentType: body.contentType, value, rawText: textBody };
}

function decodeOrUndefined(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The request a spec describes, for this run's principals. */
export function prepare(operation: Operation, spec: RequestSpec, p: Principals): Prepared {
  const now = Date.now();
  const credential = spec.credential === 'apiKey' && !p.apiKey ? 'unknownApiKey' : spec.credential;
  const headers: Record<string, string> = { ...credentialHeaders(credential, spec.credentialPick, p) };
  const strings: string[] = [];
  for (const [name, value] of Object.entries(spec.headers)) {
    headers[name.toLowerCase()] = String(resolve(value, p, now));
    strings.push(headers[name.toLowerCase()]!);
  }

  const pathValues: Record<string, string | undefined> = {};
  let path = operation.path;
  for (const parameter of operation.pathParams) {
    const given = spec.path[parameter.name] ?? { value: '' };
    const segment = 'encoded' in given ? given.encoded : encodeSegment(text(resolve(given.value, p, now)));
    pathValues[parameter.name] = decodeOrUndefined(segment);
    if (pathValues[parameter.name] !== undefined) strings.push(pathValues[parameter.name]!);
    path = path.replace(`{${parameter.name}}`, segment);
  }
  path += spec.pathSuffix;

  let queryText: string;
  if ('raw' in spec.query) queryText = spec.query.raw;
  else {
    queryText = spec.query.pairs.map(([key, value]) => `${encodeSegment(key)}=${encodeSegment(text(resolve(value, p, now)))}`).join('&');
  }
  const query = parseQuery(queryText) as Record<string, string | string[] | undefined>;
  stringsOf(query, strings);
  if (queryText) path += `?${queryText}`;

  const body = encodeBody(spec.body, p, now);
  if (body.contentType !== undefined) headers['content-type'] = body.contentType;
  let judgedBody: SentRequest['body'] = { present: false };
  if (body.payload && body.payload.length > 0) {
    const json = body.contentType !== undefined && JSON_MEDIA_TYPE.test(body.contentType);
    if (!json) judgedBody = { present: true, json: false };
    else {
      try {
        const parsed = JSON.parse(body.payload.toString('utf8').replace(/^\uFEFF/, '')) as unknown;
        judgedBody = { present: true, json: true, parsed: true, value: parsed };
        stringsOf(parsed, strings);
      } catch {
        judgedBody = { present: true, json: true, parsed: false };
      }
    }
  }
  if (body.value !== undefined) stringsOf(body.value, strings);

  return {
    method: operation.method,
    path,
    headers,
    payload: body.payload,
    sent: { credential, pathValues, offRoute: spec.pathSuffix !== '', query, headers, body: judgedBody },
    strings,
  };
}

/**
 * Sends a prepared request to the app listening on this port, on a connection
 * of its own: the service closes connections after some errors, and a reused
 * socket closed under a request would look like a dropped answer.
 */
export function send(port: number, prepared: Prepared): Promise<Answer> {
  return new Promise((resolveAnswer) => {
    let settled = false;
    const done = (answer: Answer) => {
      if (!settled) {
        settled = true;
        resolveAnswer(answer);
      }
    };
    const headers: Record<string, string | number> = { ...prepared.headers };
    if (prepared.payload) headers['content-length'] = prepared.payload.length;
    let request;
    try {
      request = httpRequest({ host: '127.0.0.1', port, method: prepared.method, path: prepared.path, headers, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => done({ status: 0, headers: {}, text: '', error: error.message }));
      });
    } catch (error) {
      // Node refused to send it (a header or path no client could send): not the service's answer.
      done({ status: -1, headers: {}, text: '', error: `not sendable: ${(error as Error).message}` });
      return;
    }
    request.setTimeout(20_000, () => request.destroy(new Error('timed out after 20 s')));
    request.on('error', (error) => done({ status: 0, headers: {}, text: '', error: error.message }));
    request.end(prepared.payload);
  });
}
